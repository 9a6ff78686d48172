// Backtests: pick a data file from the engine's data directory
// (get_data_files), a pair, a strategy and its config; a progress bar
// from backtest_progress; the result (PnL, return, drawdown, Sharpe,
// trades, win rate, fees) with its equity chart; cancel; past runs.

import { createChart, LineSeries } from '../../vendor/lightweight-charts-5.3.0/lightweight-charts.standalone.production.mjs';
import { el, grid, setText, clock } from '../ui.js';
import { fmt } from '../decimal.js';
import { chartColors } from './market.js';
import { field, configFields, readConfig, showFieldError } from './config_form.js';

export class Backtests {
  constructor(model, app) {
    this.model = model;
    this.app = app;
    this.selected = null;
    const pane = app.pane('backtests');
    this.list = grid(
      [
        { head: 'Run', text: (b) => b.backtest_id.replace(/^bt_/, ''), title: (b) => b.backtest_id },
        { head: 'Started', text: (b) => clock(b.created_at) },
        { head: 'Strategy', text: (b) => `${b.strategy_type ?? ''} ${b.pair ?? ''}` },
        { head: 'Data', cls: 'clip', text: (b) => (b.data ?? []).map((d) => d.split('/').pop()).join(', '), title: (b) => (b.data ?? []).join(', ') },
        {
          head: 'Status',
          render: (td, b) => {
            setText(td, b.status ?? '');
            const cls = `status status-${b.status}`;
            if (td.className !== cls) td.className = cls;
          },
          title: (b) => b.error ?? '',
        },
        { head: 'Progress', cls: 'num', text: (b) => (b.progress ? `${(Number(b.progress.progress) * 100).toFixed(0)} %` : '') },
        { head: 'PnL', cls: 'num', text: (b) => (b.result ? fmt(b.result.pnl, 2) : '') },
        { head: 'Return', cls: 'num', text: (b) => (b.result ? `${fmt(b.result.return_pct, 3)} %` : '') },
      ],
      (b) => b.backtest_id,
      { empty: 'No backtests yet', onRow: (tr) => tr.addEventListener('click', () => this.select(tr.item.backtest_id)) },
    );
    this.form = el('form', { autocomplete: 'off', onsubmit: (e) => { e.preventDefault(); this.start(); } });
    this.progress = el('div.progress', {}, el('div'));
    this.progressText = el('div.muted.bt-progress-text');
    this.cancelButton = el('button.danger', { type: 'button', dataset: { scope: 'trade' }, hidden: true, onclick: () => this.cancel() }, 'Cancel run');
    this.summary = el('dl.kv');
    this.equityBox = el('div.equity-chart');
    this.resultTitle = el('h3.bt-title', {}, 'Result');
    const form = el('div.side-pane', {}, el('h3', {}, 'New backtest'), this.form);
    const result = el('div.side-pane', {},
      this.resultTitle, this.progress, el('div.toolbar', { style: 'border:0;padding:0' }, this.progressText, el('span.spacer'), this.cancelButton),
      this.summary, this.equityBox);
    pane.append(el('div.split.three', {}, this.list.box, form, result));
    this.makeChart();
  }

  makeChart() {
    const c = chartColors();
    this.chart = createChart(this.equityBox, {
      autoSize: true,
      layout: { background: { color: c.bg }, textColor: c.text, fontSize: 10, attributionLogo: true },
      grid: { vertLines: { visible: false }, horzLines: { color: c.grid } },
      timeScale: { timeVisible: true, borderColor: c.grid },
      rightPriceScale: { borderColor: c.grid },
    });
    this.hold = this.chart.addSeries(LineSeries, { color: c.text, lineWidth: 1, lineStyle: 2, title: 'hold', priceLineVisible: false, lastValueVisible: false });
    this.equity = this.chart.addSeries(LineSeries, { color: c.accent, lineWidth: 2, title: 'strategy' });
  }

  themeChanged() {
    const c = chartColors();
    this.chart.applyOptions({ layout: { background: { color: c.bg }, textColor: c.text }, grid: { horzLines: { color: c.grid } } });
    this.equity.applyOptions({ color: c.accent });
    this.hold.applyOptions({ color: c.text });
  }

  buildForm() {
    const m = this.model;
    if (!m.strategyTypes.length) return;
    const keep = {};
    for (const k of ['data', 'pair', 'type']) if (this.form.elements[k]) keep[k] = this.form.elements[k].value;
    const t = m.strategyTypes.find((x) => x.strategy_type === keep.type) ?? m.strategyTypes[0];
    const files = m.dataFiles;
    const dataSel = el('select', { name: 'data', required: true },
      files.length ? files.map((f) => el('option', { value: f.name }, `${f.name} (${f.kind}${f.files ? `, ${f.files} files` : f.size ? `, ${(f.size / 1024).toFixed(0)} KiB` : ''})`)) : el('option', { value: '' }, 'no data files in the engine\u2019s data directory'));
    if (keep.data) dataSel.value = keep.data;
    const pairs = [...new Set(m.markets.filter((x) => x.exchange === 'paper').map((x) => x.symbol))];
    const pairSel = el('select', { name: 'pair' }, pairs.map((p) => el('option', { value: p }, p)));
    if (keep.pair) pairSel.value = keep.pair;
    else {
      // The pair the first file names, when it names one.
      const sym = files[0]?.symbol;
      const guess = sym && pairs.find((p) => p.replace('-', '') === sym);
      if (guess) pairSel.value = guess;
    }
    const typeSel = el('select', { name: 'type', onchange: () => this.buildForm() }, m.strategyTypes.map((x) => el('option', { value: x.strategy_type }, x.strategy_type)));
    typeSel.value = t.strategy_type;
    this.form.replaceChildren(el('div.form-grid', {},
      field('Data', dataSel, 'data', true),
      field('Pair', pairSel, 'pair'),
      field('Strategy', typeSel, 'strategy.type'),
      ...configFields(t),
      el('div.wide', {}, el('button.primary', { type: 'submit', dataset: { scope: 'trade' } }, 'Run backtest')),
      el('div.result.wide', { dataset: { result: '1' } })));
    this.app.applyScope(this.form);
  }

  async start() {
    const f = this.form.elements;
    showFieldError(this.form, '');
    const result = this.form.querySelector('[data-result]');
    result.className = 'result wide';
    setText(result, 'Starting…');
    try {
      const r = await this.app.api.request('start_backtest', {
        data: f.data.value,
        pair: f.pair.value,
        strategy: { type: f.type.value, config: readConfig(this.form) },
      });
      result.className = 'result ok wide';
      setText(result, r.message);
      this.model.backtests.set(r.backtest_id, { ...(r.backtest ?? {}), ...(this.model.backtests.get(r.backtest_id) ?? {}) });
      this.select(r.backtest_id);
      this.app.redraw('backtests');
    } catch (e) {
      result.className = 'result error wide';
      setText(result, `${e.code}: ${e.message}`);
      showFieldError(this.form, e.message, 'strategy.');
    }
  }

  async cancel() {
    if (this.selected) await this.app.run('cancel_backtest', { backtest_id: this.selected });
  }

  select(id) {
    this.selected = id;
    this.shownResult = null;
    for (const tr of this.list.rows.rows.values()) tr.classList.toggle('selected', tr.dataset.key === id);
    this.drawSelected();
  }

  drawSelected() {
    const b = this.selected && this.model.backtests.get(this.selected);
    if (!b) {
      setText(this.resultTitle, 'Result');
      return;
    }
    setText(this.resultTitle, `Run ${b.backtest_id}: ${b.status}`);
    const p = b.status === 'completed' ? 1 : Number(b.progress?.progress ?? 0);
    this.progress.firstChild.style.width = `${(p * 100).toFixed(1)}%`;
    const pr = b.progress;
    setText(this.progressText, b.error ? b.error : pr ? `${(p * 100).toFixed(0)} % · ${pr.current_date} · ${Number(pr.completed_days).toFixed(2)} of ${Number(pr.total_days).toFixed(2)} days${b.status === 'running' ? ` · about ${Math.ceil(Number(pr.estimated_remaining))} s left` : ''}` : b.status ?? '');
    this.cancelButton.hidden = !['queued', 'running'].includes(b.status);
    const r = b.result;
    if (!r || this.shownResult === r) {
      if (!r) {
        this.summary.replaceChildren();
        this.equity.setData([]);
        this.hold.setData([]);
      }
      return;
    }
    this.shownResult = r;
    const quote = r.currency ?? (b.pair ? this.model.quoteOf(b.pair) : '');
    const signed = (v, places) => `${Number(v) > 0 ? '+' : ''}${fmt(v, places)}`;
    const rows = [
      ['PnL', `${signed(r.pnl, 2)} ${quote}`, 'Final − initial equity (the balances marked at the mid)'],
      ['Return', `${signed(r.return_pct, 3)} %`, 'PnL / initial equity'],
      ['Buy and hold', `${signed(r.buy_and_hold?.pnl, 2)} ${quote}`, 'The starting balances kept untouched, at the same mids'],
      ['vs holding', `${signed(r.vs_buy_and_hold, 2)} ${quote}`, 'PnL − buy and hold: what trading added'],
      ['Max drawdown', `${fmt(r.max_drawdown_pct, 3)} %`, 'The largest fall of the equity from its running peak'],
      ['Sharpe', fmt(r.sharpe, 2), 'Hourly equity returns, annualised'],
      ['Trades', `${r.trades}`, 'Fills'],
      ['Win rate', r.trades ? `${fmt(r.win_rate, 1)} %` : '–', 'Of the fills that reduced a position, those with a profit'],
      ['Fees', `${fmt(r.fees, 2)} ${quote}`, ''],
    ];
    this.summary.replaceChildren(...rows.flatMap(([k, v, help]) => [el('dt', { title: help }, k), el('dd', { title: help }, v)]));
    for (const w of r.warnings ?? []) this.summary.append(el('dd.field-error', { style: 'grid-column: 1 / -1; text-align: left' }, `⚠ ${w}`));
    const seen = new Set();
    const points = (r.equity_curve ?? []).filter(([t]) => {
      const s = Math.floor(Number(t) / 1000);
      return !seen.has(s) && seen.add(s);
    });
    this.equity.setData(points.map(([t, e]) => ({ time: Math.floor(Number(t) / 1000), value: Number(e) })));
    this.hold.setData(points.map(([t, , h]) => ({ time: Math.floor(Number(t) / 1000), value: Number(h) })));
    this.chart.timeScale().fitContent();
  }

  draw(dirty, visible) {
    if ((dirty.has('strategyTypes') || dirty.has('dataFiles') || dirty.has('markets')) && !this.form.contains(document.activeElement)) this.buildForm();
    if (visible !== 'backtests' || !dirty.has('backtests')) return;
    const list = [...this.model.backtests.values()].sort((a, b) => ((a.created_at ?? '') < (b.created_at ?? '') ? 1 : -1));
    this.list.update(list);
    this.drawSelected();
  }
}
