// The header: engine state and uptime (start/stop), the page's own
// connection, totals, the kill switch and its reset, open alerts, theme;
// and the banner shown while the page is not connected.

import { $, setText, setClass, duration, confirmDialog } from '../ui.js';
import { fmt } from '../decimal.js';

export class Header {
  constructor(model, api, app) {
    this.model = model;
    this.api = api;
    this.app = app;
    $('#engine-toggle').addEventListener('click', () => this.toggleEngine());
    $('#kill-pause').addEventListener('click', () => this.kill('pause'));
    $('#kill-stop').addEventListener('click', () => this.kill('stop'));
    $('#kill-reset').addEventListener('click', () => this.resetKill());
    $('#banner-retry').addEventListener('click', () => api.retryNow());
    $('#alerts-button').addEventListener('click', () => app.showTab('alerts'));
    $('#theme-toggle').addEventListener('click', () => {
      const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
      document.documentElement.dataset.theme = next;
      localStorage.setItem('laicai.theme', next);
      app.themeChanged();
    });
    // Uptime ticks between status events; the banner's countdown moves.
    setInterval(() => {
      this.drawUptime();
      if (model.conn.state === 'disconnected') this.draw(new Set(['conn']));
    }, 500);
  }

  async toggleEngine() {
    const running = this.model.engineRunning;
    if (running) {
      const ok = await confirmDialog({
        title: 'Stop the engine?',
        body: 'New orders are refused until it is started again. Strategies and resting orders are left as they are.',
        confirm: 'Stop engine',
        danger: true,
      });
      if (!ok) return;
    }
    await this.app.run(running ? 'stop_engine' : 'start_engine');
  }

  async kill(mode) {
    const stop = mode === 'stop';
    const values = await confirmDialog({
      title: stop ? 'Engage the kill switch?' : 'Pause everything?',
      body: stop
        ? 'Stops every strategy and cancels every open order on every venue. New orders from anyone are refused until you reset it.'
        : 'Pauses every strategy (their orders stay). New orders from anyone are refused until you reset it.',
      confirm: stop ? 'Stop and cancel all' : 'Pause all',
      danger: true,
      fields: [{ name: 'reason', label: 'Reason (kept with the switch)', placeholder: 'e.g. exchange incident' }],
    });
    if (!values) return;
    const r = await this.app.run('kill_switch', { mode, reason: values.reason || `${mode} from the dashboard` });
    if (r) this.app.refreshRisk();
  }

  async resetKill() {
    const ok = await confirmDialog({
      title: 'Reset the kill switch?',
      body: 'Orders are accepted again. Strategies stay paused or stopped until you start them.',
      confirm: 'Reset',
    });
    if (!ok) return;
    const r = await this.app.run('reset_kill_switch');
    if (r) this.app.refreshRisk();
  }

  drawUptime() {
    const s = this.model.system;
    if (!s) return;
    const since = (Date.now() - s.receivedAt) / 1000;
    setText($('#engine-uptime'), duration(Number(s.uptime) + since));
  }

  draw(dirty) {
    const m = this.model;
    if (dirty.has('system')) {
      const running = m.engineRunning;
      // The database cannot be written: no new orders until it can.
      const degraded = m.system?.degraded;
      setText($('#engine-state'), running === null ? '…' : degraded ? 'degraded' : running ? 'running' : 'stopped');
      setClass($('#engine-dot'), `dot ${degraded ? 'warn' : running ? 'ok' : running === false ? 'bad' : ''}`);
      $('#engine-status').title = degraded
        ? `Degraded: ${degraded}. New orders are refused until it clears.`
        : "The engine's state (system_status)";
      setText($('#engine-toggle'), running ? 'Stop' : 'Start');
      if (m.system) {
        const quotes = new Set(m.markets.map((x) => x.quote));
        const quote = quotes.size === 1 ? [...quotes][0] : 'quote';
        setText($('#sum-profit'), `${fmt(m.system.total_profit, m.assetPlaces(quote))} ${quote}`);
        $('#sum-profit').className = `num ${Number(m.system.total_profit) < 0 ? 'neg' : 'pos'}`;
        $('#sum-profit').title = `Realized PnL minus fees, all venues: ${m.system.total_profit} ${quote}`;
        setText($('#sum-trades'), String(m.system.total_trades));
        setText($('#sum-strategies'), `${m.system.active_strategies} active`);
      }
      this.drawUptime();
    }
    if (dirty.has('conn')) {
      const c = m.conn;
      const live = c.state === 'live';
      setText($('#page-state'), c.state);
      setClass($('#page-dot'), `dot ${live ? 'ok' : c.state === 'disconnected' ? 'bad' : 'warn'}`);
      const banner = $('#banner');
      banner.hidden = live;
      // What is shown while not live may be stale: said, and greyed.
      document.body.classList.toggle('stale', !live);
      if (!live) {
        let text;
        if (c.state === 'disconnected') {
          const secs = Math.max(0, Math.ceil(((c.retryAt ?? Date.now()) - Date.now()) / 1000));
          text = `Disconnected from the engine: ${c.detail ?? ''}. Reconnecting in ${secs} s (attempt ${c.attempt}); what you see may be stale.`;
        } else if (c.state === 'reconnecting') {
          text = 'Reconnected; catching up on what was missed…';
        } else {
          text = 'Connecting to the engine…';
        }
        setText($('#banner-text'), text);
        banner.classList.toggle('catching-up', c.state !== 'disconnected');
        $('#banner-retry').hidden = c.state !== 'disconnected';
      }
    }
    if (dirty.has('seq')) setText($('#page-seq'), String(m.lastSeq));
    if (dirty.has('risk')) {
      const k = m.killSwitch;
      const state = $('#kill-state');
      if (k) {
        setText(state, `KILL SWITCH ${String(k.mode).toUpperCase()}: ${k.reason ?? ''}`);
        state.className = 'kill-on';
      } else {
        setText(state, 'Kill switch off');
        state.className = 'kill-off';
      }
      $('#kill-reset').hidden = !k;
      $('#kill-pause').hidden = !!k;
      $('#kill-stop').hidden = !!k;
    }
    if (dirty.has('alerts') || dirty.has('alertsBadge')) {
      setText($('#alerts-count'), String(m.unreadAlerts));
      $('#alerts-button').classList.toggle('unread', m.unreadAlerts > 0);
    }
  }
}
