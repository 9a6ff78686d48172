// The market: a pair selector (every pair of every venue), last price,
// bid/ask/spread, a one-minute candle chart (history from get_candles,
// then live from market_data and price) with the user's fills as markers
// and their open orders as price lines, and the live order book.

import {
  createChart,
  CandlestickSeries,
  createSeriesMarkers,
  LineStyle,
} from '../../vendor/lightweight-charts-5.3.0/lightweight-charts.standalone.production.mjs';
import { $, el, setText } from '../ui.js';
import { Dec, fmt } from '../decimal.js';
import { marketKey } from '../model.js';

const BOOK_LEVELS = 12;
const MAX_MARKERS = 300;

export function chartColors() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  return {
    bg: v('--panel'),
    text: v('--muted'),
    grid: v('--line'),
    buy: v('--buy'),
    sell: v('--sell'),
    accent: v('--accent'),
  };
}

export class MarketView {
  constructor(model, app) {
    this.model = model;
    this.app = app;
    this.select = $('#pair-select');
    this.select.addEventListener('change', () => {
      const [exchange, symbol] = this.select.value.split('|');
      app.selectPair(exchange, symbol);
    });
    this.priceLines = new Map();
    this.markersKey = '';
    this.asks = this.bookRows($('#book-asks'));
    this.bids = this.bookRows($('#book-bids'));
    this.makeChart();
  }

  bookRows(tbody) {
    const rows = [];
    for (let i = 0; i < BOOK_LEVELS; i++) {
      const tr = el('tr.level', {}, el('td.num'), el('td.num'), el('td.num'));
      tbody.append(tr);
      rows.push(tr);
    }
    return rows;
  }

  makeChart() {
    const c = chartColors();
    this.chart = createChart($('#chart'), {
      autoSize: true,
      layout: { background: { color: c.bg }, textColor: c.text, fontSize: 11, attributionLogo: true },
      grid: { vertLines: { color: c.grid }, horzLines: { color: c.grid } },
      rightPriceScale: { borderColor: c.grid },
      timeScale: { borderColor: c.grid, timeVisible: true, secondsVisible: false, rightOffset: 6, barSpacing: 9 },
      crosshair: { mode: 0 },
      localization: { timeFormatter: (t) => new Date(t * 1000).toLocaleString([], { hour12: false }) },
    });
    this.series = this.chart.addSeries(CandlestickSeries, {
      upColor: c.buy,
      downColor: c.sell,
      borderVisible: false,
      wickUpColor: c.buy,
      wickDownColor: c.sell,
    });
    this.markers = createSeriesMarkers(this.series, []);
  }

  themeChanged() {
    const c = chartColors();
    this.chart.applyOptions({
      layout: { background: { color: c.bg }, textColor: c.text },
      grid: { vertLines: { color: c.grid }, horzLines: { color: c.grid } },
      rightPriceScale: { borderColor: c.grid },
      timeScale: { borderColor: c.grid },
    });
    this.series.applyOptions({ upColor: c.buy, downColor: c.sell, wickUpColor: c.buy, wickDownColor: c.sell });
    this.markersKey = '';
    this.draw(new Set(['markets', 'chart', 'orders', 'fills']));
  }

  fillSelect() {
    const m = this.model;
    const value = m.selected ? marketKey(m.selected.exchange, m.selected.symbol) : '';
    this.select.replaceChildren(
      ...m.markets.map((x) => el('option', { value: marketKey(x.exchange, x.symbol) }, `${x.symbol} · ${x.exchange}`)),
    );
    this.select.value = value;
  }

  /** The chart's whole series for the selected pair. */
  drawChart() {
    const m = this.model;
    const s = m.selected;
    if (!s) return;
    const map = m.candles.get(marketKey(s.exchange, s.symbol));
    const data = map ? [...map.values()].sort((a, b) => a.time - b.time).map(toBar) : [];
    const places = m.pricePlaces(s.symbol, s.exchange);
    const market = m.market(s.exchange, s.symbol);
    this.series.applyOptions({
      priceFormat: { type: 'price', precision: places, minMove: market ? Number(market.tick_size) : 10 ** -places },
    });
    this.series.setData(data);
  }

  drawPriceLines() {
    const m = this.model;
    const s = m.selected;
    const want = new Map();
    if (s) {
      for (const o of m.orders.values()) {
        if (o.symbol !== s.symbol || o.exchange !== s.exchange || o.price === null || o.price === undefined) continue;
        if (!['open', 'partially_filled', 'pending'].includes(o.status) || o.order_type !== 'limit') continue;
        const size = fmt(Dec.of(o.remaining) ?? o.size, m.sizePlaces(o.symbol, o.exchange));
        want.set(o.orderId, { price: Number(o.price), side: o.side, title: `${o.side === 'buy' ? 'BUY' : 'SELL'} ${size}${o.strategy ? ` · ${o.strategy}` : ''}` });
      }
    }
    const c = chartColors();
    for (const [id, line] of this.priceLines) {
      const w = want.get(id);
      if (!w || w.price !== line.price || w.title !== line.title) {
        this.series.removePriceLine(line.handle);
        this.priceLines.delete(id);
      }
    }
    for (const [id, w] of want) {
      if (this.priceLines.has(id)) continue;
      const handle = this.series.createPriceLine({
        price: w.price,
        color: w.side === 'buy' ? c.buy : c.sell,
        lineWidth: 1,
        lineStyle: LineStyle.Dashed,
        axisLabelVisible: true,
        title: w.title,
      });
      this.priceLines.set(id, { ...w, handle });
    }
  }

  drawMarkers() {
    const m = this.model;
    const s = m.selected;
    if (!s) return;
    const c = chartColors();
    const fills = m.trades.filter((t) => t.symbol === s.symbol && t.exchange === s.exchange).slice(0, MAX_MARKERS);
    const key = `${s.exchange}|${s.symbol}|${fills.length}|${fills[0]?.trade_id ?? ''}`;
    if (key === this.markersKey) return;
    this.markersKey = key;
    const places = m.sizePlaces(s.symbol, s.exchange);
    const markers = fills
      .map((t) => ({
        time: Math.floor(Date.parse(t.time) / 60000) * 60,
        position: t.side === 'buy' ? 'belowBar' : 'aboveBar',
        color: t.side === 'buy' ? c.buy : c.sell,
        shape: t.side === 'buy' ? 'arrowUp' : 'arrowDown',
        text: `${t.side === 'buy' ? 'B' : 'S'} ${fmt(t.amount, places)}`,
        id: t.trade_id,
      }))
      .sort((a, b) => a.time - b.time);
    this.markers.setMarkers(markers);
  }

  drawTicker() {
    const m = this.model;
    const s = m.selected;
    if (!s) return;
    const p = m.prices.get(marketKey(s.exchange, s.symbol));
    const places = m.pricePlaces(s.symbol, s.exchange);
    setText($('#tick-last'), p ? fmt(p.price, places) : '–');
    setText($('#tick-bid'), p ? fmt(p.bid, places) : '–');
    setText($('#tick-ask'), p ? fmt(p.ask, places) : '–');
    const bid = p && Dec.of(p.bid);
    const ask = p && Dec.of(p.ask);
    if (bid && ask) {
      const spread = ask.sub(bid);
      const bps = bid.isZero() ? 0 : (spread.toNumber() / bid.toNumber()) * 10000;
      setText($('#tick-spread'), `${spread.format(places)} (${bps.toFixed(1)} bps)`);
    } else {
      setText($('#tick-spread'), '–');
    }
    const all = $('#all-prices');
    const spans = m.markets
      .filter((x) => !(x.exchange === s.exchange && x.symbol === s.symbol))
      .map((x) => {
        const q = m.prices.get(marketKey(x.exchange, x.symbol));
        return `${x.symbol}${x.exchange === 'paper' ? '' : ` (${x.exchange})`} ${q ? fmt(q.price, x.price_precision) : '–'}`;
      });
    const text = spans.join('   ');
    if (all.textContent !== text) all.textContent = text;
  }

  drawBook() {
    const m = this.model;
    const s = m.selected;
    if (!s) return;
    const book = m.books.get(marketKey(s.exchange, s.symbol));
    const pp = m.pricePlaces(s.symbol, s.exchange);
    const sp = m.sizePlaces(s.symbol, s.exchange);
    const asks = (book?.asks ?? []).slice(0, BOOK_LEVELS);
    const bids = (book?.bids ?? []).slice(0, BOOK_LEVELS);
    const cum = (levels) => {
      let t = Dec.zero();
      return levels.map(([, size]) => (t = t.add(size)));
    };
    const askTotals = cum(asks);
    const bidTotals = cum(bids);
    const max = Math.max(askTotals.at(-1)?.toNumber() ?? 0, bidTotals.at(-1)?.toNumber() ?? 0) || 1;
    const c = chartColors();
    const paint = (rows, levels, totals, color, reverse) => {
      rows.forEach((tr, i) => {
        // Asks are shown best-last (nearest the spread), bids best-first.
        const j = reverse ? rows.length - 1 - i : i;
        const level = levels[j];
        const [pt, st, tt] = tr.children;
        if (!level) {
          setText(pt, '');
          setText(st, '');
          setText(tt, '');
          tr.style.backgroundImage = '';
          return;
        }
        setText(pt, fmt(level[0], pp));
        setText(st, fmt(level[1], sp));
        setText(tt, totals[j].format(sp));
        const pct = ((totals[j].toNumber() / max) * 100).toFixed(1);
        const bg = `linear-gradient(to left, color-mix(in srgb, ${color} 18%, transparent) ${pct}%, transparent ${pct}%)`;
        if (tr.style.backgroundImage !== bg) tr.style.backgroundImage = bg;
      });
    };
    paint(this.asks, asks, askTotals, c.sell, true);
    paint(this.bids, bids, bidTotals, c.buy, false);
    const bestBid = bids[0] && Dec.of(bids[0][0]);
    const bestAsk = asks[0] && Dec.of(asks[0][0]);
    setText(
      $('#book-spread'),
      bestBid && bestAsk ? `spread ${bestAsk.sub(bestBid).format(pp)} · mid ${bestAsk.add(bestBid).mul('0.5').format(pp + 1)}` : 'no book yet',
    );
  }

  draw(dirty) {
    if (dirty.has('markets')) this.fillSelect();
    if (dirty.has('chart')) {
      this.drawChart();
      this.markersKey = '';
    } else if (dirty.has('candle') && this.model.lastCandle) {
      const bar = toBar(this.model.lastCandle);
      try {
        this.series.update(bar);
      } catch {
        this.drawChart();
      }
    }
    if (dirty.has('chart') || dirty.has('orders')) this.drawPriceLines();
    if (dirty.has('chart') || dirty.has('fills') || dirty.has('trades')) this.drawMarkers();
    if (dirty.has('prices') || dirty.has('chart')) this.drawTicker();
    if (dirty.has('book') || dirty.has('chart')) this.drawBook();
  }
}

function toBar(c) {
  return {
    time: c.time,
    open: Number(c.open),
    high: Number(c.high),
    low: Number(c.low),
    close: Number(c.close),
  };
}
