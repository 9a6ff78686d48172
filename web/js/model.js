// The page's in-memory picture of the engine, built from the snapshot,
// events and command answers. Applying an event only updates maps and
// marks what changed (`dirty`); views redraw from here at most once per
// animation frame. Everything kept is bounded.

import { Dec } from './decimal.js';

const MAX_TRADES = 2000;
const MAX_ORDERS = 3000;
const MAX_LOGS = 1000;
const MAX_ALERTS = 300;
const MAX_PROFIT_POINTS = 3600;
const MAX_CANDLES = 1500;
const FINAL = new Set(['filled', 'canceled', 'rejected', 'expired']);

export const marketKey = (exchange, symbol) => `${exchange}|${symbol}`;

export class Model {
  constructor() {
    this.dirty = new Set();
    this.listeners = [];
    this.reset();
    this.markets = [];
    this.session = null;
    this.selected = null;
    this.strategyTypes = [];
    this.dataFiles = [];
    this.alerts = [];
    this.unreadAlerts = 0;
    this.logs = [];
    this.conn = { state: 'connecting', attempt: 0 };
    this.lastSeq = 0;
    this.killSwitch = null;
  }

  /** Forgets the account state (a resync follows with a fresh snapshot). */
  reset() {
    this.system = null;
    this.engineRunning = null;
    this.orders = new Map();
    this.trades = [];
    this.tradeKeys = new Set();
    this.positions = new Map();
    this.balances = new Map();
    this.strategies = new Map();
    this.profit = new Map();
    this.connections = new Map();
    this.agents = new Map();
    this.prices = new Map();
    this.books = new Map();
    this.candles = new Map();
    this.backtests = new Map();
    for (const k of ['orders', 'trades', 'positions', 'balances', 'strategies', 'connections', 'agents', 'system', 'backtests', 'market']) {
      this.mark(k);
    }
  }

  mark(what) {
    this.dirty.add(what);
    for (const l of this.listeners) l();
  }

  onChange(fn) {
    this.listeners.push(fn);
  }

  market(exchange, symbol) {
    return this.markets.find((m) => m.exchange === exchange && m.symbol === symbol) ?? null;
  }

  /** Decimal places to show an asset with: the size precision of a pair it is the base of, else the price precision of one it quotes. */
  assetPlaces(asset) {
    const base = this.markets.find((m) => m.base === asset);
    if (base) return base.size_precision;
    const quote = this.markets.find((m) => m.quote === asset);
    return quote ? Math.max(quote.price_precision, 2) : 8;
  }

  pricePlaces(symbol, exchange) {
    const m = (exchange && this.market(exchange, symbol)) || this.markets.find((x) => x.symbol === symbol);
    return m ? m.price_precision : 2;
  }

  sizePlaces(symbol, exchange) {
    const m = (exchange && this.market(exchange, symbol)) || this.markets.find((x) => x.symbol === symbol);
    return m ? m.size_precision : 6;
  }

  quoteOf(symbol) {
    return symbol.split('-')[1] ?? '';
  }

  applySnapshot(s) {
    this.reset();
    this.applySystem(s.system);
    for (const st of s.strategies ?? []) this.strategies.set(st.id, st);
    for (const o of s.orders ?? []) this.mergeOrder(o);
    for (const p of s.positions ?? []) this.positions.set(positionKey(p), p);
    for (const b of s.balances ?? []) this.balances.set(`${b.exchange}|${b.asset}`, b);
    for (const c of s.connections ?? []) this.connections.set(c.id, c);
  }

  applySystem(sys) {
    if (!sys) return;
    this.system = { ...sys, receivedAt: Date.now() };
    this.engineRunning = sys.bot_status === 'running';
    this.mark('system');
  }

  /** Keeps whichever of two views of an order is further along. */
  mergeOrder(o) {
    const had = this.orders.get(o.orderId);
    if (had && isOlder(o, had)) return;
    this.orders.set(o.orderId, o);
    if (this.orders.size > MAX_ORDERS) this.pruneOrders();
    this.mark('orders');
  }

  pruneOrders() {
    const done = [...this.orders.values()]
      .filter((o) => FINAL.has(o.status))
      .sort((a, b) => (a.updated_at < b.updated_at ? -1 : 1));
    for (const o of done.slice(0, this.orders.size - MAX_ORDERS)) this.orders.delete(o.orderId);
  }

  addTrade(t, front = true) {
    const key = `${t.exchange}|${t.trade_id}|${t.order_id}`;
    if (this.tradeKeys.has(key)) return;
    this.tradeKeys.add(key);
    if (front) this.trades.unshift(t);
    else this.trades.push(t);
    if (this.trades.length > MAX_TRADES) {
      const gone = this.trades.splice(MAX_TRADES);
      for (const g of gone) this.tradeKeys.delete(`${g.exchange}|${g.trade_id}|${g.order_id}`);
    }
    this.mark('trades');
  }

  /** History from get_orders / get_trades, merged under what events said. */
  loadHistory(orders, trades) {
    for (const o of orders) this.mergeOrder(o);
    const sorted = [...trades].sort((a, b) => (a.time < b.time ? 1 : -1));
    for (const t of sorted) this.addTrade(t, false);
    this.trades.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
    this.mark('trades');
  }

  setCandles(exchange, symbol, candles) {
    const map = new Map();
    for (const c of candles) map.set(c.time, c);
    // Live updates that arrived first are newer.
    const had = this.candles.get(marketKey(exchange, symbol));
    if (had) for (const [t, c] of had) if (!map.has(t) || t >= lastKey(map)) map.set(t, c);
    this.candles.set(marketKey(exchange, symbol), map);
    this.mark('chart');
  }

  /** A live update of the minute `time` of a market. */
  updateCandle(exchange, symbol, time, price, ohlc) {
    const key = marketKey(exchange, symbol);
    let map = this.candles.get(key);
    if (!map) {
      map = new Map();
      this.candles.set(key, map);
    }
    const had = map.get(time);
    let c;
    if (ohlc) {
      c = { time, open: ohlc.open, high: ohlc.high, low: ohlc.low, close: price, volume: ohlc.volume };
    } else if (had) {
      c = {
        ...had,
        high: Dec.of(price).cmp(had.high) > 0 ? price : had.high,
        low: Dec.of(price).cmp(had.low) < 0 ? price : had.low,
        close: price,
      };
    } else {
      c = { time, open: price, high: price, low: price, close: price, volume: 0 };
    }
    map.set(time, c);
    if (map.size > MAX_CANDLES) map.delete(map.keys().next().value);
    if (this.selected && this.selected.exchange === exchange && this.selected.symbol === symbol) {
      this.lastCandle = c;
      this.mark('candle');
    }
  }

  apply(e) {
    if (typeof e.seq === 'number') {
      this.lastSeq = Math.max(this.lastSeq, e.seq);
      this.dirty.add('seq');
    }
    switch (e.type) {
      case 'snapshot':
        this.applySnapshot(e);
        break;
      case 'system_status':
        this.applySystem(e);
        break;
      case 'connected':
        this.engineRunning = true;
        this.mark('system');
        break;
      case 'disconnected':
        this.engineRunning = false;
        this.mark('system');
        break;
      case 'price': {
        const key = marketKey(e.exchange, e.symbol);
        this.prices.set(key, e);
        this.updateCandle(e.exchange, e.symbol, minuteOf(e.timestamp), e.price, null);
        this.mark('prices');
        break;
      }
      case 'market_data': {
        const d = e.data;
        const time = Math.floor(Number(d.timestamp) / 60) * 60;
        this.updateCandle(e.exchange, e.symbol, time, d.price, d);
        break;
      }
      case 'orderbook':
        this.books.set(marketKey(e.exchange, e.symbol), e);
        if (this.selected && this.selected.exchange === e.exchange && this.selected.symbol === e.symbol) this.mark('book');
        break;
      case 'order_update':
        this.mergeOrder(e);
        break;
      case 'trade':
        this.addTrade(e);
        this.mark('fills');
        break;
      case 'position':
        this.positions.set(positionKey(e), e);
        this.mark('positions');
        break;
      case 'balance':
        this.balances.set(`${e.exchange}|${e.asset}`, e);
        this.mark('balances');
        break;
      case 'strategy': {
        this.strategies.set(e.id, e);
        let pts = this.profit.get(e.id);
        if (!pts) {
          pts = [];
          this.profit.set(e.id, pts);
        }
        const time = Math.floor(Date.parse(e.timestamp) / 1000);
        const last = pts[pts.length - 1];
        if (last && last.time === time) last.value = e.profit;
        else if (!last || last.time < time) pts.push({ time, value: e.profit });
        if (pts.length > MAX_PROFIT_POINTS) pts.shift();
        this.mark('strategies');
        break;
      }
      case 'connection':
        if (e.status === 'deleted') this.connections.delete(e.id);
        else this.connections.set(e.id, e);
        this.mark('connections');
        break;
      case 'agent_status':
        this.agents.set(e.agent_id, e.data);
        this.mark('agents');
        break;
      case 'log':
        this.logs.push(e);
        if (this.logs.length > MAX_LOGS) this.logs.splice(0, this.logs.length - MAX_LOGS);
        this.mark('logs');
        break;
      case 'alerts':
        this.alerts.unshift({ ...e.data, seq: e.seq });
        this.unreadAlerts += 1;
        if (this.alerts.length > MAX_ALERTS) this.alerts.length = MAX_ALERTS;
        this.mark('alerts');
        break;
      case 'backtest_progress': {
        const b = this.backtests.get(e.backtest_id) ?? { backtest_id: e.backtest_id, status: 'running' };
        b.progress = e.data;
        if (b.status === 'queued') b.status = 'running';
        this.backtests.set(e.backtest_id, b);
        this.mark('backtests');
        break;
      }
      case 'backtest_result': {
        const b = this.backtests.get(e.backtest_id) ?? { backtest_id: e.backtest_id };
        b.status = e.status;
        if (e.data) b.result = e.data;
        if (e.error) b.error = e.error;
        this.backtests.set(e.backtest_id, b);
        this.mark('backtests');
        break;
      }
      default:
        break;
    }
  }
}

function positionKey(p) {
  return `${p.exchange}|${p.symbol}|${p.strategy_id ?? ''}`;
}

function minuteOf(iso) {
  return Math.floor(Date.parse(iso) / 60000) * 60;
}

function lastKey(map) {
  let last = -Infinity;
  for (const k of map.keys()) if (k > last) last = k;
  return last;
}

/** Whether `a` is an older view of the same order than `b`. */
function isOlder(a, b) {
  if (a.updated_at !== b.updated_at) return a.updated_at < b.updated_at;
  if (FINAL.has(b.status) && !FINAL.has(a.status)) return true;
  return Dec.of(a.filled).cmp(b.filled) < 0;
}
