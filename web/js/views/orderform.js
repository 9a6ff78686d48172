// Order entry: buy/sell, market/limit, size, price, time in force,
// post-only, venue. Values go to the engine as the exact text typed; the
// answer is shown as the engine words it (`risk_rejected: …`).

import { $, el, setText } from '../ui.js';
import { Dec, fmt } from '../decimal.js';
import { marketKey } from '../model.js';

export class OrderForm {
  constructor(model, app) {
    this.model = model;
    this.app = app;
    this.form = $('#order-form');
    this.result = $('#order-result');
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.form.addEventListener('input', () => this.refresh());
    this.form.elements.exchange.addEventListener('change', () => {
      const s = this.model.selected;
      if (s) app.selectPair(this.form.elements.exchange.value, s.symbol);
    });
  }

  /** Clicking a price in the book or a chart line fills it in. */
  setPrice(price) {
    this.form.elements.price.value = price;
    this.refresh();
  }

  refresh() {
    const f = this.form.elements;
    const side = f.side.value;
    const market = f.type.value === 'market';
    f.price.disabled = market;
    f.time_in_force.disabled = market;
    f.post_only.disabled = market;
    const s = this.model.selected;
    const submit = $('#order-submit');
    submit.className = side;
    setText(submit, `${side === 'buy' ? 'Buy' : 'Sell'} ${s ? s.symbol.split('-')[0] : ''}`);
    const size = Dec.of(f.size.value);
    let price = Dec.of(f.price.value);
    if (market && s) {
      const p = this.model.prices.get(marketKey(s.exchange, s.symbol));
      price = p && Dec.of(side === 'buy' ? p.ask : p.bid);
    }
    const quote = s ? this.model.quoteOf(s.symbol) : '';
    setText(
      $('#order-notional'),
      size && price ? `${market ? '≈ ' : ''}${fmt(size.mul(price), this.model.assetPlaces(quote))} ${quote}` : '–',
    );
  }

  draw(dirty) {
    const m = this.model;
    if (dirty.has('markets') || dirty.has('chart')) {
      const s = m.selected;
      const venues = m.markets.filter((x) => s && x.symbol === s.symbol).map((x) => x.exchange);
      const f = this.form.elements;
      const current = s?.exchange;
      f.exchange.replaceChildren(...venues.map((v) => el('option', { value: v }, v)));
      if (current) f.exchange.value = current;
      if (s) {
        const [base, quote] = s.symbol.split('-');
        setText($('#order-price-unit'), quote);
        setText($('#order-size-unit'), base);
        const market = m.market(s.exchange, s.symbol);
        f.price.step = market ? market.tick_size : 'any';
        f.size.step = market ? market.step_size : 'any';
      }
      this.refresh();
    }
    if (dirty.has('prices') && this.form.elements.type.value === 'market') this.refresh();
  }

  async submit() {
    const f = this.form.elements;
    const s = this.model.selected;
    if (!s) return;
    const params = {
      symbol: s.symbol,
      side: f.side.value,
      type: f.type.value,
      size: f.size.value.trim(),
      exchange: f.exchange.value || s.exchange,
    };
    if (params.type === 'limit') {
      params.price = f.price.value.trim();
      params.time_in_force = f.time_in_force.value;
      if (f.post_only.checked) params.post_only = true;
    }
    this.result.className = 'result';
    setText(this.result, 'Sending…');
    try {
      const r = await this.app.api.request('place_order', params);
      const o = r.order ?? {};
      this.result.className = 'result ok';
      setText(this.result, `${r.message}: ${o.orderId ?? r.order_id} ${o.status ?? ''}`);
    } catch (e) {
      this.result.className = 'result error';
      setText(this.result, `${e.code ?? 'error'}: ${e.message}`);
    }
  }
}
