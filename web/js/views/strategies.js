// Strategies: the list with status, profit, trades, position, restarts
// and progress; start, pause, resume, stop, delete; a create form per
// type built from get_strategy_types (each field's default and meaning),
// with the engine's validation errors shown at the field; and the
// selected strategy's profit curve.

import { createChart, BaselineSeries } from '../../vendor/lightweight-charts-5.3.0/lightweight-charts.standalone.production.mjs';
import { el, grid, setText, confirmDialog } from '../ui.js';
import { fmt } from '../decimal.js';
import { chartColors } from './market.js';
import { field, configFields, readConfig, showFieldError } from './config_form.js';

const ACTIONS = [
  ['start', 'Start', (s) => ['created', 'stopped', 'error'].includes(s.status)],
  ['pause', 'Pause', (s) => s.status === 'running'],
  ['resume', 'Resume', (s) => s.status === 'paused'],
  ['stop', 'Stop', (s) => ['running', 'paused'].includes(s.status)],
  ['delete', 'Delete', (s) => ['created', 'stopped', 'error'].includes(s.status)],
];

export class Strategies {
  constructor(model, app) {
    this.model = model;
    this.app = app;
    this.selected = null;
    const pane = app.pane('strategies');
    const m = model;
    this.list = grid(
      [
        { head: 'ID', text: (s) => s.id },
        { head: 'Name', text: (s) => s.name },
        { head: 'Type', text: (s) => s.strategy_type },
        { head: 'Pair', text: (s) => s.pair },
        { head: 'Venue', text: (s) => s.exchange },
        {
          head: 'Status',
          render: (td, s) => {
            setText(td, s.status);
            const cls = `status status-${s.status}`;
            if (td.className !== cls) td.className = cls;
          },
          title: (s) => s.error_msg ?? '',
        },
        {
          head: 'Profit',
          cls: 'num',
          help: 'Realized PnL − fees + the open position at the mid, quote asset',
          render: (td, s) => {
            setText(td, `${fmt(s.profit, m.assetPlaces(m.quoteOf(s.pair)))}`);
            const cls = `num ${Number(s.profit) > 0 ? 'pos' : Number(s.profit) < 0 ? 'neg' : ''}`;
            if (td.className !== cls) td.className = cls;
          },
          title: (s) => `${s.profit} ${m.quoteOf(s.pair)} (fees ${s.fees})`,
        },
        { head: 'Trades', cls: 'num', text: (s) => String(s.trades) },
        { head: 'Position', cls: 'num', text: (s) => fmt(s.position, m.sizePlaces(s.pair, s.exchange)), title: (s) => String(s.position) },
        { head: 'Orders', cls: 'num', text: (s) => String(s.open_orders ?? '') },
        { head: 'Restarts', cls: 'num', text: (s) => String(s.restarts) },
        { head: 'Progress', cls: 'num', text: (s) => (s.progress === null || s.progress === undefined ? '' : `${(Number(s.progress) * 100).toFixed(1)} %`) },
        { head: 'Error', cls: 'wrap', text: (s) => s.error_msg ?? '' },
        {
          head: '',
          cls: 'actions',
          render: (td, s) => {
            if (!td.firstChild) {
              for (const [action, label] of ACTIONS) {
                td.append(el(`button${action === 'delete' || action === 'stop' ? '.danger' : ''}`, {
                  type: 'button',
                  dataset: { action, scope: 'trade' },
                  onclick: (e) => {
                    e.stopPropagation();
                    this.control(td.parentNode.item, action);
                  },
                }, label));
              }
              this.app.applyScope(td);
            }
            for (const b of td.children) {
              const [, , when] = ACTIONS.find(([a]) => a === b.dataset.action);
              b.hidden = !when(s);
            }
          },
        },
      ],
      (s) => s.id,
      {
        empty: 'No strategies: create one on the right',
        onRow: (tr) => tr.addEventListener('click', () => this.select(tr.item.id)),
      },
    );
    this.curveTitle = el('h3', {}, 'Profit');
    this.curveBox = el('div.mini-chart');
    this.form = el('form', { autocomplete: 'off', onsubmit: (e) => { e.preventDefault(); this.create(); } });
    this.side = el('div.side-pane', {}, this.curveTitle, this.curveBox, el('h3', {}, 'New strategy'), this.form);
    pane.append(el('div.split', {}, this.list.box, this.side));
    this.makeCurve();
  }

  makeCurve() {
    const c = chartColors();
    this.curve = createChart(this.curveBox, {
      autoSize: true,
      layout: { background: { color: c.bg }, textColor: c.text, fontSize: 10, attributionLogo: true },
      grid: { vertLines: { visible: false }, horzLines: { color: c.grid } },
      timeScale: { timeVisible: true, secondsVisible: true, borderColor: c.grid },
      rightPriceScale: { borderColor: c.grid },
    });
    this.curveSeries = this.curve.addSeries(BaselineSeries, {
      baseValue: { type: 'price', price: 0 },
      topLineColor: c.buy,
      bottomLineColor: c.sell,
      lineWidth: 2,
    });
  }

  themeChanged() {
    const c = chartColors();
    this.curve.applyOptions({ layout: { background: { color: c.bg }, textColor: c.text }, grid: { horzLines: { color: c.grid } } });
    this.curveSeries.applyOptions({ topLineColor: c.buy, bottomLineColor: c.sell });
  }

  select(id) {
    this.selected = id;
    for (const tr of this.list.rows.rows.values()) tr.classList.toggle('selected', tr.dataset.key === id);
    this.drawCurve();
  }

  drawCurve() {
    const s = this.selected && this.model.strategies.get(this.selected);
    if (!s) {
      setText(this.curveTitle, 'Profit (select a strategy)');
      this.curveSeries.setData([]);
      return;
    }
    const quote = this.model.quoteOf(s.pair);
    setText(this.curveTitle, `Profit of ${s.name} (${s.id}), ${quote}, since this page opened`);
    const pts = (this.model.profit.get(s.id) ?? []).map((p) => ({ time: p.time, value: Number(p.value) }));
    this.curveSeries.applyOptions({ priceFormat: { type: 'price', precision: this.model.assetPlaces(quote), minMove: 10 ** -this.model.assetPlaces(quote) } });
    this.curveSeries.setData(pts);
  }

  async control(s, action) {
    if (action === 'delete' || action === 'stop') {
      const ok = await confirmDialog({
        title: `${action === 'stop' ? 'Stop' : 'Delete'} ${s.name} (${s.id})?`,
        body: action === 'stop' ? 'Its open orders are cancelled.' : 'It is removed with its settings; its trades stay in the history.',
        confirm: action === 'stop' ? 'Stop' : 'Delete',
        danger: true,
      });
      if (!ok) return;
    }
    await this.app.run(`${action}_strategy`, { id: s.id });
  }

  /** The create form: name, type, pair, venue, then the type's fields. */
  buildForm() {
    const m = this.model;
    const types = m.strategyTypes;
    if (!types.length) return;
    const type = this.form.elements.type?.value || types[0].strategy_type;
    const keep = {};
    for (const k of ['name', 'pair']) if (this.form.elements[k]) keep[k] = this.form.elements[k].value;
    const t = types.find((x) => x.strategy_type === type) ?? types[0];
    const markets = m.markets;
    const typeSel = el('select', { name: 'type', onchange: () => this.buildForm() }, types.map((x) => el('option', { value: x.strategy_type }, x.strategy_type)));
    typeSel.value = t.strategy_type;
    const pairSel = el('select', { name: 'pair' }, markets.map((x) => el('option', { value: `${x.exchange}|${x.symbol}` }, `${x.symbol} · ${x.exchange}`)));
    if (keep.pair) pairSel.value = keep.pair;
    const rows = [
      field('Name', el('input', { name: 'name', value: keep.name ?? '', placeholder: `My ${t.strategy_type}`, required: true }), 'name'),
      field('Type', typeSel, 'type'),
      field('Pair', pairSel, 'pair', true),
      el('div.field-help.wide', {}, t.description),
    ];
    rows.push(...configFields(t));
    rows.push(el('div.wide', {}, el('button.primary', { type: 'submit', dataset: { scope: 'trade' } }, 'Create'), ' ', el('label.check', { style: 'display:inline-flex' }, el('input', { type: 'checkbox', name: 'start_now', checked: true }), 'start it')));
    rows.push(el('div.result.wide', { dataset: { result: '1' } }));
    this.form.replaceChildren(el('div.form-grid', {}, rows));
    this.app.applyScope(this.form);
  }

  async create() {
    const f = this.form.elements;
    showFieldError(this.form, '');
    const [exchange, pair] = f.pair.value.split('|');
    const config = readConfig(this.form);
    const result = this.form.querySelector('[data-result]');
    result.className = 'result wide';
    setText(result, 'Creating…');
    try {
      const r = await this.app.api.request('create_strategy', { name: f.name.value.trim(), type: f.type.value, exchange, pair, config });
      let message = r.message;
      if (f.start_now.checked) {
        const started = await this.app.api.request('start_strategy', { id: r.instance_id });
        message = `${message}; ${started.message}`;
      }
      result.className = 'result ok wide';
      setText(result, message);
      this.select(r.instance_id);
    } catch (e) {
      result.className = 'result error wide';
      setText(result, `${e.code}: ${e.message}`);
      showFieldError(this.form, e.message);
    }
  }

  draw(dirty, visible) {
    const m = this.model;
    if (dirty.has('strategies')) {
      const running = [...m.strategies.values()].filter((s) => s.status === 'running').length;
      setText(document.getElementById('count-strategies'), m.strategies.size ? `${running}/${m.strategies.size}` : '');
    }
    if ((dirty.has('strategyTypes') || dirty.has('markets')) && !this.form.contains(document.activeElement)) this.buildForm();
    if (visible !== 'strategies') return;
    if (dirty.has('strategies')) {
      const list = [...m.strategies.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
      this.list.update(list);
      if (!this.selected && list.length) this.select(list[0].id);
      else this.drawCurve();
    }
  }
}
