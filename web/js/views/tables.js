// Orders, trades, positions and balances: tables with filters, rows
// updated in place; cancel one order from its row, cancel all by pair.

import { el, grid, clock, confirmDialog, setText, guard } from '../ui.js';
import { fmt } from '../decimal.js';

const SHOWN = 300;
const OPEN = new Set(['pending', 'open', 'partially_filled']);

function select(name, options, onchange) {
  const s = el('select', { name, onchange });
  s.replaceChildren(...options.map(([v, label]) => el('option', { value: v }, label)));
  return s;
}

/** Keeps a filter select's options in step with what exists. */
function refill(selectNode, options) {
  const value = selectNode.value;
  const want = options.map(([v, l]) => `${v}\u0000${l}`).join('\u0001');
  if (selectNode.dataset.options === want) return;
  selectNode.dataset.options = want;
  selectNode.replaceChildren(...options.map(([v, label]) => el('option', { value: v }, label)));
  selectNode.value = options.some(([v]) => v === value) ? value : options[0][0];
}

function statusCell(td, status) {
  setText(td, status.replace('_', ' '));
  const cls = `status status-${status}`;
  if (td.className !== cls) td.className = cls;
}

function signed(td, value, places, suffix = '') {
  setText(td, value === null || value === undefined ? '' : `${fmt(value, places)}${suffix}`);
  const n = Number(value);
  const cls = `num ${n > 0 ? 'pos' : n < 0 ? 'neg' : ''}`;
  if (td.className !== cls) td.className = cls;
}

export class Tables {
  constructor(model, app) {
    this.model = model;
    this.app = app;
    this.buildOrders(app.pane('orders'));
    this.buildTrades(app.pane('trades'));
    this.buildPositions(app.pane('positions'));
    this.buildBalances(app.pane('balances'));
  }

  pairOptions() {
    const pairs = [...new Set(this.model.markets.map((m) => m.symbol))];
    return [['', 'All pairs'], ...pairs.map((p) => [p, p])];
  }

  strategyOptions() {
    const list = [...this.model.strategies.values()].map((s) => [s.id, `${s.name} (${s.id})`]);
    return [['', 'All'], ['-', 'Manual'], ...list];
  }

  buildOrders(pane) {
    const m = this.model;
    this.orderStatus = select('status', [['open', 'Open'], ['', 'All'], ['filled', 'Filled'], ['canceled', 'Canceled'], ['rejected', 'Rejected'], ['expired', 'Expired']], () => this.app.redraw('orders'));
    this.orderPair = select('pair', [['', 'All pairs']], () => this.app.redraw('orders'));
    this.orderStrategy = select('strategy', [['', 'All']], () => this.app.redraw('orders'));
    this.cancelAll = el('button.danger', { type: 'button', dataset: { scope: 'trade' }, onclick: () => this.confirmCancelAll() }, 'Cancel all…');
    const shown = el('span.muted');
    this.ordersShown = shown;
    pane.append(
      el('div.toolbar', {},
        el('label', {}, 'Status', this.orderStatus),
        el('label', {}, 'Pair', this.orderPair),
        el('label', {}, 'Strategy', this.orderStrategy),
        shown,
        el('span.spacer'),
        this.cancelAll),
    );
    const price = (o) => fmt(o.price, m.pricePlaces(o.symbol, o.exchange));
    const size = (v, o) => fmt(v, m.sizePlaces(o.symbol, o.exchange));
    this.orders = grid(
      [
        { head: 'Time', text: (o) => clock(o.created_at), title: (o) => `created ${o.created_at}, updated ${o.updated_at}` },
        { head: 'Order', text: (o) => o.orderId, title: (o) => (o.client_order_id ? `client id ${o.client_order_id}` : '') },
        { head: 'Pair', text: (o) => o.symbol },
        { head: 'Venue', text: (o) => o.exchange },
        { head: 'Side', text: (o) => o.side, cellClass: (o) => o.side },
        { head: 'Type', text: (o) => `${o.order_type}${o.order_type === 'limit' ? ` ${o.time_in_force}` : ''}${o.post_only ? ' post' : ''}` },
        { head: 'Price', cls: 'num', text: price, title: (o) => String(o.price ?? '') },
        { head: 'Size', cls: 'num', text: (o) => size(o.size, o), title: (o) => String(o.size) },
        { head: 'Filled', cls: 'num', text: (o) => size(o.filled, o), title: (o) => String(o.filled) },
        { head: 'Avg price', cls: 'num', text: (o) => fmt(o.avg_price, m.pricePlaces(o.symbol, o.exchange)) },
        { head: 'Status', render: (td, o) => statusCell(td, o.status), title: (o) => o.reason ?? '' },
        { head: 'Strategy', text: (o) => o.strategy ?? '', title: (o) => o.strategy_id ?? 'manual' },
        {
          head: '',
          cls: 'actions',
          render: (td, o) => {
            let b = td.firstChild;
            if (!b) {
              b = el('button', { type: 'button', dataset: { scope: 'trade' }, onclick: () => this.cancel(td.parentNode.item) }, 'Cancel');
              td.append(b);
              this.app.applyScope(td);
            }
            b.hidden = !OPEN.has(o.status);
          },
        },
      ],
      (o) => o.orderId,
      { empty: 'No orders match' },
    );
    pane.append(this.orders.box);
  }

  async cancel(o) {
    await this.app.run('cancel_order', { order_id: o.orderId });
  }

  async confirmCancelAll() {
    const pair = this.orderPair.value;
    const open = [...this.model.orders.values()].filter((o) => OPEN.has(o.status) && (!pair || o.symbol === pair)).length;
    const ok = await confirmDialog({
      title: `Cancel all open orders${pair ? ` on ${pair}` : ''}?`,
      body: `${open} open order${open === 1 ? '' : 's'} (strategies' orders included) on every venue.`,
      confirm: 'Cancel them',
      danger: true,
    });
    if (!ok) return;
    await this.app.run('cancel_all_orders', pair ? { symbol: pair } : {});
  }

  buildTrades(pane) {
    const m = this.model;
    this.tradePair = select('pair', [['', 'All pairs']], () => this.app.redraw('trades'));
    this.tradeStrategy = select('strategy', [['', 'All']], () => this.app.redraw('trades'));
    this.tradesShown = el('span.muted');
    pane.append(el('div.toolbar', {}, el('label', {}, 'Pair', this.tradePair), el('label', {}, 'Strategy', this.tradeStrategy), this.tradesShown));
    this.trades = grid(
      [
        { head: 'Time', text: (t) => clock(t.time), title: (t) => t.time },
        { head: 'Trade', text: (t) => t.trade_id },
        { head: 'Order', text: (t) => t.order_id },
        { head: 'Pair', text: (t) => t.symbol },
        { head: 'Venue', text: (t) => t.exchange },
        { head: 'Side', text: (t) => t.side, cellClass: (t) => t.side },
        { head: 'Price', cls: 'num', text: (t) => fmt(t.price, m.pricePlaces(t.symbol, t.exchange)), title: (t) => String(t.price) },
        { head: 'Amount', cls: 'num', text: (t) => fmt(t.amount, m.sizePlaces(t.symbol, t.exchange)), title: (t) => String(t.amount) },
        { head: 'Fee', cls: 'num', text: (t) => `${fmt(t.fee, Math.max(m.assetPlaces(t.fee_asset), 4))} ${t.fee_asset}`, title: (t) => `${t.fee} ${t.fee_asset}` },
        { head: 'Liquidity', text: (t) => t.liquidity ?? '' },
        { head: 'Strategy', text: (t) => t.strategy ?? '', title: (t) => t.strategy_id ?? 'manual' },
      ],
      (t) => `${t.exchange}|${t.trade_id}|${t.order_id}`,
      { empty: 'No trades yet' },
    );
    pane.append(this.trades.box);
  }

  buildPositions(pane) {
    const m = this.model;
    this.showFlat = el('input', { type: 'checkbox', onchange: () => this.app.redraw('positions') });
    pane.append(el('div.toolbar', {}, el('label.check', {}, this.showFlat, 'Show flat positions'), el('span.muted', {}, 'PnL in the quote asset, marked at the mid')));
    this.positions = grid(
      [
        { head: 'Pair', text: (p) => p.symbol },
        { head: 'Venue', text: (p) => p.exchange },
        { head: 'Strategy', text: (p) => p.strategy ?? 'manual' },
        { head: 'Side', text: (p) => p.side, cellClass: (p) => (p.side === 'long' ? 'buy' : p.side === 'short' ? 'sell' : 'muted') },
        { head: 'Size', cls: 'num', text: (p) => fmt(p.size, m.sizePlaces(p.symbol, p.exchange)), title: (p) => String(p.size) },
        { head: 'Avg entry', cls: 'num', text: (p) => fmt(p.entry_price, m.pricePlaces(p.symbol, p.exchange)) },
        { head: 'Mark', cls: 'num', text: (p) => fmt(p.current_price, m.pricePlaces(p.symbol, p.exchange)) },
        { head: 'Unrealized PnL', cls: 'num', render: (td, p) => signed(td, p.pnl, m.assetPlaces(m.quoteOf(p.symbol))), title: (p) => String(p.pnl) },
        { head: 'PnL %', cls: 'num', render: (td, p) => signed(td, p.pnl_percent, 2, ' %') },
        { head: 'Realized PnL', cls: 'num', render: (td, p) => signed(td, p.realized_pnl, m.assetPlaces(m.quoteOf(p.symbol))), title: (p) => String(p.realized_pnl) },
      ],
      (p) => `${p.exchange}|${p.symbol}|${p.strategy_id ?? ''}`,
      { empty: 'No positions' },
    );
    pane.append(this.positions.box);
  }

  buildBalances(pane) {
    const m = this.model;
    pane.append(el('div.toolbar', {}, el('span.muted', {}, 'Per venue: free to trade, used by open orders, and the total')));
    this.balances = grid(
      [
        { head: 'Venue', text: (b) => b.exchange },
        { head: 'Asset', text: (b) => b.asset },
        { head: 'Free', cls: 'num', text: (b) => fmt(b.free, m.assetPlaces(b.asset)), title: (b) => String(b.free) },
        { head: 'Used', cls: 'num', text: (b) => fmt(b.used, m.assetPlaces(b.asset)), title: (b) => String(b.used) },
        { head: 'Total', cls: 'num', text: (b) => fmt(b.total, m.assetPlaces(b.asset)), title: (b) => String(b.total) },
      ],
      (b) => `${b.exchange}|${b.asset}`,
      { empty: 'No balances' },
    );
    pane.append(this.balances.box);
  }

  draw(dirty, visible) {
    const m = this.model;
    if (dirty.has('markets') || dirty.has('strategies')) {
      refill(this.orderPair, this.pairOptions());
      refill(this.tradePair, this.pairOptions());
      refill(this.orderStrategy, this.strategyOptions());
      refill(this.tradeStrategy, this.strategyOptions());
    }
    const byStrategy = (sel, x) => !sel || (sel === '-' ? !x.strategy_id : x.strategy_id === sel);
    if (dirty.has('orders')) {
      const open = [...m.orders.values()].filter((o) => OPEN.has(o.status)).length;
      setText(document.getElementById('count-orders'), open ? String(open) : '');
    }
    if (dirty.has('orders') && visible === 'orders') {
      const st = this.orderStatus.value;
      const pair = this.orderPair.value;
      const strat = this.orderStrategy.value;
      const list = [...m.orders.values()]
        .filter((o) => (st === 'open' ? OPEN.has(o.status) : !st || o.status === st))
        .filter((o) => !pair || o.symbol === pair)
        .filter((o) => byStrategy(strat, o))
        .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.orderId < b.orderId ? 1 : -1));
      this.orders.update(list.slice(0, SHOWN));
      setText(this.ordersShown, list.length > SHOWN ? `newest ${SHOWN} of ${list.length}` : `${list.length} order${list.length === 1 ? '' : 's'}`);
      guard(this.cancelAll, this.app.allows('trade'), this.app.scopeWhy('trade'));
    }
    if (dirty.has('trades') && visible === 'trades') {
      const pair = this.tradePair.value;
      const strat = this.tradeStrategy.value;
      const list = m.trades.filter((t) => (!pair || t.symbol === pair) && byStrategy(strat, t));
      this.trades.update(list.slice(0, SHOWN));
      setText(this.tradesShown, list.length > SHOWN ? `newest ${SHOWN} of ${list.length}` : `${list.length} trade${list.length === 1 ? '' : 's'}`);
    }
    if (dirty.has('positions')) {
      const all = [...m.positions.values()];
      const open = all.filter((p) => Number(p.size) !== 0);
      setText(document.getElementById('count-positions'), open.length ? String(open.length) : '');
      if (visible === 'positions') {
        const list = (this.showFlat.checked ? all : open).sort((a, b) => (a.symbol + (a.strategy ?? '')).localeCompare(b.symbol + (b.strategy ?? '')));
        this.positions.update(list);
      }
    }
    if (dirty.has('balances') && visible === 'balances') {
      const list = [...m.balances.values()].sort((a, b) => (a.exchange + a.asset).localeCompare(b.exchange + b.asset));
      this.balances.update(list);
    }
  }
}
