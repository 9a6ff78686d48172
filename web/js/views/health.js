// Health and logs: `agent_status` per actor (status, queue, restarts),
// the engine's own log as it streams (`log` events) with a level filter,
// and the alerts.

import { el, grid, setText, clock } from '../ui.js';

const LEVELS = ['debug', 'info', 'warning', 'error'];
const SHOWN_LOGS = 400;

export class Health {
  constructor(model, app) {
    this.model = model;
    this.app = app;
    this.agents = grid(
      [
        { head: 'Actor', text: (a) => a.id },
        {
          head: 'Status',
          render: (td, a) => {
            setText(td, a.data.status);
            const cls = `status status-${String(a.data.status).split('_')[0]}`;
            if (td.className !== cls) td.className = cls;
          },
        },
        { head: 'Queue', cls: 'num', help: 'Messages waiting in its mailbox at the last probe', text: (a) => String(a.data.task_queue_size) },
        { head: 'Restarts', cls: 'num', text: (a) => String(a.data.restarts) },
        { head: 'Sessions', cls: 'num', text: (a) => (a.data.count === undefined ? '' : String(a.data.count)) },
        { head: 'Process CPU', cls: 'num', text: (a) => `${Number(a.data.cpu_usage).toFixed(1)} %` },
        { head: 'Process memory', cls: 'num', text: (a) => `${Number(a.data.memory_usage).toFixed(1)} MiB` },
        { head: 'Probed', text: (a) => clock(new Date(Number(a.data.last_update) * 1000).toISOString()) },
      ],
      (a) => a.id,
      { empty: 'Waiting for agent_status' },
    );
    app.pane('health').append(el('div.toolbar', {}, el('span.muted', {}, 'Every actor of the engine, from agent_status (sent every 30 s and on change)'), el('span.spacer'), el('button', { type: 'button', onclick: () => app.refreshAgents() }, 'Refresh')), this.agents.box);

    this.level = el('select', { onchange: () => this.drawLogs(true) }, LEVELS.map((l) => el('option', { value: l }, `${l} and above`)));
    this.level.value = 'info';
    this.follow = el('input', { type: 'checkbox', checked: true });
    this.logBox = el('div.scroll');
    this.logCount = el('span.muted');
    app.pane('logs').append(
      el('div.toolbar', {}, el('label', {}, 'Level', this.level), el('label.check', {}, this.follow, 'Follow'), this.logCount, el('span.spacer'), el('button', { type: 'button', onclick: () => { model.logs.length = 0; this.drawLogs(true); } }, 'Clear')),
      this.logBox,
    );
    this.logLines = new WeakSet();

    this.alertList = grid(
      [
        { head: 'Time', text: (a) => clock(new Date(Number(a.timestamp) * 1000).toISOString()) },
        { head: 'Level', text: (a) => a.level, cellClass: (a) => `lvl-${a.level}` },
        { head: 'Source', text: (a) => a.source },
        { head: 'Message', cls: 'wrap', text: (a) => a.message },
      ],
      (a) => String(a.seq),
      { empty: 'No alerts' },
    );
    app.pane('alerts').append(el('div.toolbar', {}, el('span.muted', {}, 'Risk breaches, connector failures, slow consumers, the kill switch')), this.alertList.box);
  }

  drawLogs(full) {
    const min = LEVELS.indexOf(this.level.value);
    const logs = this.model.logs.filter((l) => LEVELS.indexOf(l.level) >= min);
    const shown = logs.slice(-SHOWN_LOGS);
    if (full) {
      this.logBox.replaceChildren();
      this.logLines = new WeakSet();
    }
    // Append what is new; drop the oldest beyond the cap.
    const frag = document.createDocumentFragment();
    for (const l of shown) {
      if (this.logLines.has(l)) continue;
      this.logLines.add(l);
      frag.append(el(`div.log-line.lvl-${l.level}`, {}, `${clock(l.timestamp)} ${l.level.toUpperCase().padEnd(7)} `, el('span.src', {}, `${l.source ?? ''} `), l.msg));
    }
    this.logBox.append(frag);
    while (this.logBox.childElementCount > SHOWN_LOGS) this.logBox.firstChild.remove();
    setText(this.logCount, `${logs.length} line${logs.length === 1 ? '' : 's'}`);
    if (this.follow.checked) this.logBox.scrollTop = this.logBox.scrollHeight;
  }

  draw(dirty, visible) {
    if (visible === 'health' && dirty.has('agents')) {
      this.agents.update([...this.model.agents.entries()].map(([id, data]) => ({ id, data })).sort((a, b) => a.id.localeCompare(b.id)));
    }
    if (visible === 'logs' && dirty.has('logs')) this.drawLogs(false);
    if (visible === 'alerts' && dirty.has('alerts')) {
      this.alertList.update(this.model.alerts);
      this.model.unreadAlerts = 0;
      this.app.redraw('alertsBadge');
    }
  }
}
