// Exchange connections: their state as `connection` events report it
// (connecting, connected, disconnected with the attempt and the next
// retry, failed), test and delete; and a form to create a Binance (or
// testnet) connection. The secret is write-only: the field is cleared
// once sent and nothing the engine answers carries it.

import { el, grid, setText, confirmDialog, clock } from '../ui.js';

export class Connections {
  constructor(model, app) {
    this.model = model;
    this.app = app;
    const pane = app.pane('connections');
    this.list = grid(
      [
        { head: 'ID', text: (c) => c.id },
        { head: 'Name', text: (c) => c.name },
        { head: 'Exchange', text: (c) => `${c.exchange}${c.testnet ? ' (testnet)' : ''}` },
        {
          head: 'Status',
          render: (td, c) => {
            setText(td, c.status);
            const cls = `status status-${c.status}`;
            if (td.className !== cls) td.className = cls;
          },
        },
        { head: 'Attempt', cls: 'num', text: (c) => (c.attempt ? String(c.attempt) : '') },
        { head: 'Next retry', text: (c) => retry(c) },
        { head: 'Message', cls: 'wrap', text: (c) => c.message ?? '' },
        { head: 'Pairs', text: (c) => (c.pairs ?? []).join(', ') },
        { head: 'REST', text: (c) => c.rest_url ?? '' },
        {
          head: '',
          cls: 'actions',
          render: (td) => {
            if (td.firstChild) return;
            td.append(
              el('button', { type: 'button', dataset: { scope: 'admin' }, onclick: () => this.test(td.parentNode.item) }, 'Test'),
              el('button.danger', { type: 'button', dataset: { scope: 'admin' }, onclick: () => this.remove(td.parentNode.item) }, 'Delete'),
            );
            this.app.applyScope(td);
          },
        },
      ],
      (c) => c.id,
      { empty: 'No exchange connections: paper trading needs none. Add Binance on the right.' },
    );
    this.form = el('form', { autocomplete: 'off', onsubmit: (e) => { e.preventDefault(); this.create(); } },
      el('div.form-grid', {},
        el('label', {}, 'Exchange', el('select', { name: 'exchange' }, el('option', { value: 'binance' }, 'Binance spot'))),
        el('label', {}, 'Name (optional)', el('input', { name: 'name', placeholder: 'binance' })),
        el('label.wide', {}, 'API key', el('input', { name: 'api_key', required: true, spellcheck: false })),
        el('label.wide', {}, 'API secret (write-only: never shown again)', el('input', { name: 'api_secret', type: 'password', required: true, autocomplete: 'new-password' })),
        el('label.check', {}, el('input', { type: 'checkbox', name: 'testnet', checked: true }), 'Testnet'),
        el('label', {}, 'Pairs (optional)', el('input', { name: 'pairs', placeholder: 'BTC-USDT, ETH-USDT' })),
        el('label.wide', {}, 'REST URL (optional)', el('input', { name: 'rest_url', placeholder: 'the venue\u2019s own (testnet: its testnet)' })),
        el('label.wide', {}, 'WebSocket URL (optional)', el('input', { name: 'ws_url', placeholder: 'the venue\u2019s own' })),
        el('div.wide', {}, el('button.primary', { type: 'submit', dataset: { scope: 'admin' } }, 'Connect')),
        el('div.result.wide', { dataset: { result: '1' } })));
    pane.append(el('div.split', {}, this.list.box, el('div.side-pane', {}, el('h3', {}, 'New connection'), this.form)));
    app.applyScope(this.form);
    // The retry countdown moves.
    setInterval(() => {
      if (app.visible === 'connections' && [...model.connections.values()].some((c) => c.next_retry_ms)) this.draw(new Set(['connections']), 'connections');
    }, 1000);
  }

  async create() {
    const f = this.form.elements;
    const params = { exchange: f.exchange.value, api_key: f.api_key.value.trim(), api_secret: f.api_secret.value, testnet: f.testnet.checked };
    for (const k of ['name', 'rest_url', 'ws_url']) if (f[k].value.trim()) params[k] = f[k].value.trim();
    const pairs = f.pairs.value.split(',').map((p) => p.trim()).filter(Boolean);
    if (pairs.length) params.pairs = pairs;
    // The secret leaves the page once; it is not kept anywhere.
    f.api_secret.value = '';
    const result = this.form.querySelector('[data-result]');
    result.className = 'result wide';
    setText(result, 'Connecting…');
    try {
      const r = await this.app.api.request('create_connection', params);
      result.className = 'result ok wide';
      setText(result, r.message);
      f.api_key.value = '';
      this.app.refreshMarkets();
    } catch (e) {
      result.className = 'result error wide';
      setText(result, `${e.code}: ${e.message}`);
    }
  }

  async test(c) {
    await this.app.run('test_connection', { id: c.id });
  }

  async remove(c) {
    const ok = await confirmDialog({
      title: `Delete ${c.name} (${c.id})?`,
      body: 'The engine disconnects from it and forgets its keys. Orders resting on the exchange stay there.',
      confirm: 'Delete',
      danger: true,
    });
    if (!ok) return;
    await this.app.run('delete_connection', { id: c.id });
    this.app.refreshMarkets();
  }

  draw(dirty, visible) {
    if (!dirty.has('connections') || visible !== 'connections') return;
    this.list.update([...this.model.connections.values()].sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true })));
  }
}

function retry(c) {
  if (!c.next_retry_ms || c.status !== 'disconnected') return '';
  const at = Date.parse(c.timestamp ?? '') + Number(c.next_retry_ms);
  if (Number.isNaN(at)) return `in ${(Number(c.next_retry_ms) / 1000).toFixed(1)} s`;
  const left = Math.max(0, Math.ceil((at - Date.now()) / 1000));
  return left ? `in ${left} s (${clock(new Date(at).toISOString())})` : 'now';
}
