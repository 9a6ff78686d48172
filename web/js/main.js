// The dashboard: one connection, one model, views drawn at most once per
// animation frame from what changed. It speaks only the public protocol.

import { Connection, CommandError } from './connection.js';
import { Model } from './model.js';
import { $, $$, FrameScheduler, confirmDialog, toast } from './ui.js';
import { Header } from './views/header.js';
import { MarketView } from './views/market.js';
import { OrderForm } from './views/orderform.js';
import { Tables } from './views/tables.js';
import { Strategies } from './views/strategies.js';
import { Connections } from './views/connections.js';
import { Backtests } from './views/backtests.js';
import { Health } from './views/health.js';

const SCOPES = ['read', 'trade', 'admin'];
const TOKEN_KEY = 'laicai.token';
const HISTORY = 500;

class App {
  constructor() {
    document.documentElement.dataset.theme = localStorage.getItem('laicai.theme') ?? (matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark');
    this.model = new Model();
    this.visible = 'orders';
    this.scheduler = new FrameScheduler(() => this.draw());
    this.model.onChange(() => this.scheduler.request());
    this.api = new Connection({
      item: (f) => this.model.apply(f),
      resync: (why) => {
        toast(`Events were missed (${why}); the page reloads its state from a fresh snapshot.`, 'warning', 8000);
        this.needsHistory = true;
      },
      state: (s) => {
        this.model.conn = s;
        this.model.mark('conn');
      },
      opened: () => this.onOpened(),
      refused: (why) => this.onRefused(why),
    });
    this.header = new Header(this.model, this.api, this);
    this.market = new MarketView(this.model, this);
    this.orderForm = new OrderForm(this.model, this);
    this.tables = new Tables(this.model, this);
    this.strategies = new Strategies(this.model, this);
    this.connections = new Connections(this.model, this);
    this.backtests = new Backtests(this.model, this);
    this.health = new Health(this.model, this);
    this.views = [this.header, this.market, this.orderForm, this.tables, this.strategies, this.connections, this.backtests, this.health];
    for (const b of $$('.tabs button')) b.addEventListener('click', () => this.showTab(b.dataset.tab));
    this.needsHistory = true;
    this.firstOpen = true;
    window.laicai = this; // for the browser tests and the curious
  }

  pane(name) {
    return $(`.tab[data-pane="${name}"]`);
  }

  showTab(name) {
    this.visible = name;
    for (const b of $$('.tabs button')) b.classList.toggle('active', b.dataset.tab === name);
    for (const p of $$('.tab')) p.hidden = p.dataset.pane !== name;
    const keys = { orders: 'orders', trades: 'trades', positions: 'positions', balances: 'balances', strategies: 'strategies', connections: 'connections', backtests: 'backtests', health: 'agents', logs: 'logs', alerts: 'alerts' };
    this.redraw(keys[name]);
    if (name === 'backtests') this.refreshBacktests();
    if (name === 'health') this.refreshAgents();
  }

  redraw(what) {
    this.model.mark(what);
  }

  themeChanged() {
    this.market.themeChanged();
    this.strategies.themeChanged();
    this.backtests.themeChanged();
  }

  draw() {
    const dirty = this.model.dirty;
    this.model.dirty = new Set();
    for (const v of this.views) {
      try {
        v.draw(dirty, this.visible);
      } catch (e) {
        console.error(e);
      }
    }
  }

  async start() {
    let auth = false;
    try {
      const health = await (await fetch('/api/health', { cache: 'no-store' })).json();
      auth = health.auth_required === true;
    } catch {
      // The engine is down: the connection's retries will say so.
    }
    let token = sessionStorage.getItem(TOKEN_KEY);
    if (auth && !token) token = await this.askToken('This engine requires a token.');
    this.api.connect(token);
  }

  async askToken(why) {
    const values = await confirmDialog({
      title: 'Token',
      body: `${why} Enter one of the tokens configured in [[server.tokens]] (or LAICAI_TOKEN). It is kept for this browser session only.`,
      confirm: 'Connect',
      fields: [{ name: 'token', label: 'Token', type: 'password', required: true }],
    });
    const token = values?.token?.trim() || null;
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    return token;
  }

  /** The first connection never opened: ask for a token if one is needed. */
  onRefused() {
    if (this.asking) return true;
    this.asking = true;
    fetch('/api/health', { cache: 'no-store' })
      .then((r) => r.json())
      .then(async (h) => {
        if (!h.auth_required) {
          this.asking = false;
          this.api.scheduleReconnect('the engine refused the connection');
          return;
        }
        const had = sessionStorage.getItem(TOKEN_KEY);
        sessionStorage.removeItem(TOKEN_KEY);
        const token = await this.askToken(had ? 'The engine refused that token (or too many attempts were made from here).' : 'This engine requires a token.');
        this.asking = false;
        this.api.connect(token);
      })
      .catch(() => {
        this.asking = false;
        this.api.scheduleReconnect('the engine cannot be reached');
      });
    return true;
  }

  /** Each connection, once caught up: what the snapshot does not carry. */
  async onOpened() {
    const m = this.model;
    const first = this.firstOpen;
    this.firstOpen = false;
    try {
      const [session, markets, types, risk] = await Promise.all([
        this.api.request('get_session'),
        this.api.request('get_markets'),
        first ? this.api.request('get_strategy_types') : null,
        this.api.request('get_risk_limits'),
      ]);
      m.session = { scope: session.scope, id: session.session_id };
      this.applyScope(document);
      m.markets = markets.markets;
      if (types) {
        m.strategyTypes = types.types;
        m.mark('strategyTypes');
      }
      m.killSwitch = risk.kill_switch ?? null;
      m.mark('risk');
      if (!m.selected || !m.market(m.selected.exchange, m.selected.symbol)) {
        const saved = sessionStorage.getItem('laicai.pair');
        const [ex, sym] = saved ? saved.split('|') : [];
        const pick = m.market(ex, sym) ?? m.markets[0];
        if (pick) m.selected = { exchange: pick.exchange, symbol: pick.symbol };
      }
      m.mark('markets');
      await this.loadCandles();
      if (this.needsHistory || first) await this.loadHistory();
      this.refreshDataFiles();
      this.refreshBacktests();
      this.refreshAgents();
    } catch (e) {
      if (e instanceof CommandError && e.code === 'disconnected') return;
      toast(`Loading the dashboard: ${e.message}`, 'error');
    }
  }

  /** Order and trade history beyond what the snapshot holds. */
  async loadHistory() {
    this.needsHistory = false;
    const [orders, trades] = await Promise.all([
      this.api.request('get_orders', { limit: HISTORY }),
      this.api.request('get_trades', { limit: HISTORY }),
    ]);
    this.model.loadHistory(orders.orders ?? [], trades.trades ?? []);
  }

  async loadCandles() {
    const s = this.model.selected;
    if (!s) return;
    try {
      const r = await this.api.request('get_candles', { symbol: s.symbol, exchange: s.exchange, limit: 500 });
      this.model.setCandles(s.exchange, s.symbol, r.candles ?? []);
    } catch (e) {
      this.model.mark('chart');
      if (e.code !== 'disconnected') toast(`Candles of ${s.symbol}: ${e.message}`, 'warning');
    }
  }

  selectPair(exchange, symbol) {
    this.model.selected = { exchange, symbol };
    sessionStorage.setItem('laicai.pair', `${exchange}|${symbol}`);
    this.model.mark('markets');
    this.model.mark('chart');
    this.model.mark('book');
    this.loadCandles();
  }

  async refreshMarkets() {
    try {
      const r = await this.api.request('get_markets');
      this.model.markets = r.markets;
      this.model.mark('markets');
    } catch {
      // Shown by the connection state.
    }
  }

  async refreshRisk() {
    try {
      const r = await this.api.request('get_risk_limits');
      this.model.killSwitch = r.kill_switch ?? null;
      this.model.mark('risk');
    } catch {
      // Shown by the connection state.
    }
  }

  async refreshAgents() {
    try {
      const r = await this.api.request('get_agents');
      for (const a of r.agents ?? []) this.model.agents.set(a.agent_id, a.data);
      this.model.mark('agents');
    } catch {
      // Shown by the connection state.
    }
  }

  async refreshDataFiles() {
    try {
      const r = await this.api.request('get_data_files');
      this.model.dataFiles = r.files ?? [];
    } catch (e) {
      this.model.dataFiles = [];
      if (e.code !== 'disconnected') toast(`Data files: ${e.message}`, 'warning');
    }
    this.model.mark('dataFiles');
  }

  async refreshBacktests() {
    try {
      const r = await this.api.request('get_backtests');
      for (const b of r.backtests ?? []) this.model.backtests.set(b.backtest_id, { ...(this.model.backtests.get(b.backtest_id) ?? {}), ...b });
      this.model.mark('backtests');
    } catch {
      // Shown by the connection state.
    }
  }

  /** Runs a command from a button; its refusal is shown as the engine words it. */
  async run(cmd, params = {}) {
    try {
      const r = await this.api.request(cmd, params);
      toast(r.message, 'info', 3000);
      return r;
    } catch (e) {
      toast(`${cmd}: ${e.code}: ${e.message}`, 'error', 8000);
      return null;
    }
  }

  allows(scope) {
    const have = this.model.session?.scope ?? 'read';
    return SCOPES.indexOf(have) >= SCOPES.indexOf(scope);
  }

  scopeWhy(scope) {
    return `Needs a token with the ${scope} scope; this one has ${this.model.session?.scope ?? 'read'}`;
  }

  /** Disables every control under `root` its data-scope puts above this token. */
  applyScope(root) {
    if (!this.model.session) return;
    for (const node of root.querySelectorAll('[data-scope]')) {
      const ok = this.allows(node.dataset.scope);
      node.disabled = !ok;
      if (!ok) node.title = this.scopeWhy(node.dataset.scope);
    }
    const badge = $('#scope-badge');
    badge.textContent = this.model.session.scope;
  }
}

// Kill switch changes arrive as alerts from the risk manager.
const app = new App();
app.model.onChange(() => {
  if (app.model.dirty.has('alerts')) {
    const a = app.model.alerts[0];
    if (a && a.source === 'risk' && /kill switch/i.test(a.message) && a.seq !== app.lastRiskAlert) {
      app.lastRiskAlert = a.seq;
      app.refreshRisk();
    }
  }
});
app.start();
