// The dashboard in a real headless Chromium against the real engine:
// prices, orders placed and cancelled from the page, strategies, risk
// refusals, a killed and restarted engine, backtests, tokens and scopes.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, openDashboard, withScreenshot, command, live, sleep, closeBrowser } from './harness.js';

after(closeBrowser);

const text = (page, sel) => page.locator(sel).first().innerText();

/** Waits until `fn` (in the page) is truthy; answers its value. */
async function until(page, fn, arg, timeout = 10000) {
  const h = await page.waitForFunction(fn, arg, { timeout, polling: 100 });
  return h.jsonValue();
}

async function balance(page, asset) {
  const r = await command(page, 'get_balances', { exchange: 'paper' });
  return r.balances.find((b) => b.asset === asset);
}

test('the page loads and shows live prices for both pairs within 5 s', async (t) => {
  const engine = await Engine.start();
  const page = await openDashboard(engine);
  try {
    await withScreenshot(t, page, async () => {
      const started = Date.now();
      await until(page, () => /\d/.test(document.querySelector('#tick-last').textContent), null, 5000);
      await until(page, () => /ETH-USDT [\d,]+\.\d\d/.test(document.querySelector('#all-prices').textContent), null, 5000 - (Date.now() - started));
      assert.match(await text(page, '#page-state'), /live/);
      assert.match(await text(page, '#engine-state'), /running/);
      // The book has both sides, at the pair's precision.
      await until(page, () => document.querySelectorAll('#book-bids tr td:first-child').length > 0 && /^\d{2},\d{3}\.\d{2}$/.test(document.querySelector('#book-bids tr td').textContent));
      // Switching pairs reloads the chart and book for ETH-USDT.
      await page.selectOption('#pair-select', 'paper|ETH-USDT');
      await until(page, () => /^\d,\d{3}\.\d{2}$/.test(document.querySelector('#tick-last').textContent));
      assert.deepEqual(page.problems, []);
      assert.ok(page.requests.length > 3);
    });
  } finally {
    await page.close();
    await engine.stop();
  }
});

test('a limit order from the form shows in the table, is cancelled from it, and the balance is restored', async (t) => {
  const engine = await Engine.start();
  const page = await openDashboard(engine);
  try {
    await withScreenshot(t, page, async () => {
      await live(page);
      const before = await balance(page, 'USDT');
      const bid = await until(page, () => window.laicai.model.prices.get('paper|BTC-USDT')?.bid);
      const price = (Math.floor(Number(bid) * 0.99 * 100) / 100).toFixed(2);
      await page.fill('#order-form input[name=price]', price);
      await page.fill('#order-form input[name=size]', '0.01');
      await page.click('#order-submit');
      await until(page, () => /Order placed/.test(document.querySelector('#order-result').textContent));
      const id = (await text(page, '#order-result')).match(/(ORD-\S+)/)[1];
      const row = page.locator(`tr[data-key="${id}"]`);
      await row.waitFor();
      assert.match(await row.innerText(), /BTC-USDT[\s\S]*buy[\s\S]*open/);
      const used = await balance(page, 'USDT');
      assert.notEqual(used.free, before.free, 'the order reserves USDT');
      await row.locator('button', { hasText: 'Cancel' }).click();
      await until(page, (k) => window.laicai.model.orders.get(k)?.status === 'canceled', id);
      // The open-orders view no longer lists it; "All" shows it cancelled.
      await row.waitFor({ state: 'detached' });
      await page.selectOption('.tab[data-pane=orders] select[name=status]', '');
      assert.match(await page.locator(`tr[data-key="${id}"]`).innerText(), /canceled/);
      const after = await balance(page, 'USDT');
      assert.equal(after.free, before.free);
      await page.click('.tabs button[data-tab=balances]');
      const shown = await page.locator('tr[data-key="paper|USDT"] td').nth(2).innerText();
      assert.equal(shown.replace(/,/g, ''), Number(after.free).toFixed(2));
      assert.deepEqual(page.problems, []);
    });
  } finally {
    await page.close();
    await engine.stop();
  }
});

test('a pmm strategy is created, started, paused and stopped from the page, its orders tagged', async (t) => {
  const engine = await Engine.start();
  const page = await openDashboard(engine);
  try {
    await withScreenshot(t, page, async () => {
      await live(page);
      await page.click('.tabs button[data-tab=strategies]');
      const form = page.locator('.tab[data-pane=strategies] form');
      await form.locator('select[name=type]').selectOption('pmm');
      await form.locator('input[name=name]').fill('Dash MM');
      await form.locator('select[name=pair]').selectOption('paper|BTC-USDT');
      await form.locator('input[name="cfg.order_levels"]').fill('2');
      await form.locator('input[name=start_now]').uncheck();
      // A bad value is refused by the engine and shown at its field.
      await form.locator('input[name="cfg.bid_spread"]').fill('-1');
      await form.locator('button[type=submit]').click();
      const err = form.locator('[data-field="config.bid_spread"] .field-error');
      await until(page, () => document.querySelector('[data-field="config.bid_spread"] .field-error')?.textContent.length > 0);
      assert.ok((await err.innerText()).length > 3);
      await form.locator('input[name="cfg.bid_spread"]').fill('0.05');
      await form.locator('button[type=submit]').click();
      await until(page, () => /created/.test(document.querySelector('.tab[data-pane=strategies] [data-result]').textContent));
      const id = await until(page, () => [...window.laicai.model.strategies.values()].find((s) => s.name === 'Dash MM')?.id);
      const row = page.locator(`.tab[data-pane=strategies] tr[data-key="${id}"]`);
      await row.waitFor();
      assert.match(await row.innerText(), /created/);
      const step = async (action, status) => {
        await row.locator(`button[data-action=${action}]`).click();
        if (action === 'stop') await page.click('dialog button[value=ok]');
        await until(page, ([k, s]) => window.laicai.model.strategies.get(k)?.status === s, [id, status]);
        await until(page, ([k, s]) => document.querySelector(`tr[data-key="${k}"] td:nth-child(6)`)?.textContent === s, [id, status]);
      };
      await step('start', 'running');
      // Its quotes appear in the orders table with its name.
      await page.click('.tabs button[data-tab=orders]');
      await until(page, () => [...document.querySelectorAll('.tab[data-pane=orders] tbody tr')].filter((tr) => tr.textContent.includes('Dash MM')).length >= 2, null, 15000);
      await page.click('.tabs button[data-tab=strategies]');
      await step('pause', 'paused');
      await step('resume', 'running');
      await step('stop', 'stopped');
      // Stopping cancelled its orders.
      await until(page, () => ![...window.laicai.model.orders.values()].some((o) => o.strategy === 'Dash MM' && ['open', 'partially_filled'].includes(o.status)), null, 10000);
      assert.deepEqual(page.problems, []);
    });
  } finally {
    await page.close();
    await engine.stop();
  }
});

test('a risk rejection shows the engine\u2019s own message', async (t) => {
  const engine = await Engine.start({ config: '[risk]\nmax_order_notional = "100"\n' });
  const page = await openDashboard(engine);
  try {
    await withScreenshot(t, page, async () => {
      await live(page);
      await page.click('#order-form label.side.buy');
      await page.selectOption('#order-form select[name=type]', 'market');
      await page.fill('#order-form input[name=size]', '0.01');
      await page.click('#order-submit');
      const shown = await until(page, () => {
        const r = document.querySelector('#order-result');
        return r.classList.contains('error') && r.textContent;
      });
      assert.match(shown, /^risk_rejected: /);
      assert.match(shown, /notional/);
      // Nothing silent: an empty size is refused with the field named.
      await page.fill('#order-form input[name=size]', '');
      await page.click('#order-submit');
      const empty = await until(page, (prev) => {
        const r = document.querySelector('#order-result').textContent;
        return r !== prev && r !== 'Sending…' && r;
      }, shown);
      assert.match(empty, /^invalid_params: .*size/);
    });
  } finally {
    await page.close();
    await engine.stop();
  }
});

test('the engine killed and restarted: the banner shows, the page reconnects and its orders equal get_orders', async (t) => {
  const engine = await Engine.start();
  const page = await openDashboard(engine);
  try {
    await withScreenshot(t, page, async () => {
      await live(page);
      const bid = await until(page, () => window.laicai.model.prices.get('paper|BTC-USDT')?.bid);
      const placed = [];
      for (const f of [0.99, 0.98, 0.97]) {
        const r = await command(page, 'place_order', { symbol: 'BTC-USDT', side: 'buy', type: 'limit', size: '0.001', price: (Math.floor(Number(bid) * f * 100) / 100).toFixed(2) });
        assert.equal(r.success, true, JSON.stringify(r));
        placed.push(r.order_id);
      }
      await command(page, 'cancel_order', { order_id: placed[0] });
      await engine.kill();
      await page.locator('#banner').waitFor({ state: 'visible', timeout: 5000 });
      assert.match(await text(page, '#banner-text'), /Disconnected/);
      await engine.restart();
      await page.locator('#banner').waitFor({ state: 'hidden', timeout: 20000 });
      await live(page);
      // While it was down, an order changed that the page must learn of.
      const r = await command(page, 'cancel_order', { order_id: placed[1] });
      assert.equal(r.success, true, JSON.stringify(r));
      await until(page, (k) => window.laicai.model.orders.get(k)?.status === 'canceled', placed[1]);
      await page.selectOption('.tab[data-pane=orders] select[name=status]', '');
      const truth = await command(page, 'get_orders', {});
      const want = truth.orders.map((o) => `${o.orderId}:${o.status}`).sort();
      const table = await until(page, (n) => {
        const rows = [...document.querySelectorAll('.tab[data-pane=orders] tbody tr')];
        return rows.length === n && rows.map((tr) => `${tr.dataset.key}:${tr.children[10].textContent.replace(' ', '_')}`);
      }, want.length);
      assert.deepEqual(table.sort(), want);
      assert.equal(want.length, 3);
      // No event was applied twice.
      const dup = await page.evaluate(() => window.laicai.model.trades.length - new Set(window.laicai.model.trades.map((x) => x.trade_id)).size);
      assert.equal(dup, 0);
    });
  } finally {
    await page.close();
    await engine.stop();
  }
});

test('a backtest runs to 100 % and shows its result', async (t) => {
  const engine = await Engine.start();
  const page = await openDashboard(engine);
  try {
    await withScreenshot(t, page, async () => {
      await live(page);
      await page.click('.tabs button[data-tab=backtests]');
      const form = page.locator('.tab[data-pane=backtests] form');
      await until(page, () => document.querySelectorAll('.tab[data-pane=backtests] select[name=data] option').length > 1);
      await form.locator('select[name=data]').selectOption('sample/BTCUSDT-trades-2025-01-01.csv.gz');
      await form.locator('select[name=pair]').selectOption('BTC-USDT');
      await form.locator('select[name=type]').selectOption('pmm');
      await form.locator('button[type=submit]').click();
      await until(page, () => /queued|Backtest/.test(document.querySelector('.tab[data-pane=backtests] [data-result]').textContent));
      await until(page, () => /completed/.test(document.querySelector('.tab[data-pane=backtests] .bt-title').textContent), null, 60000);
      await until(page, () => document.querySelector('.tab[data-pane=backtests] .progress > div').style.width === '100%');
      assert.match(await text(page, '.tab[data-pane=backtests] .bt-progress-text'), /^100 % · 2025-01-01/);
      const summary = await text(page, '.tab[data-pane=backtests] dl.kv');
      for (const k of ['PnL', 'Return', 'Max drawdown', 'Sharpe', 'Trades', 'Win rate', 'Fees']) assert.match(summary, new RegExp(k));
      assert.match(summary, /USDT/);
      // The run is listed with its result.
      const runs = await page.locator('.tab[data-pane=backtests] tbody tr').count();
      assert.equal(runs, 1);
      assert.deepEqual(page.problems, []);
    });
  } finally {
    await page.close();
    await engine.stop();
  }
});

test('with tokens the page asks for one, and controls above its scope are disabled with a reason', async (t) => {
  const engine = await Engine.start({ config: '[[server.tokens]]\ntoken = "read-only-token-0123456789"\nscope = "read"\n' });
  const page = await openDashboard(engine);
  try {
    await withScreenshot(t, page, async () => {
      await page.locator('dialog[open] input[name=token]').waitFor();
      await page.fill('dialog input[name=token]', 'read-only-token-0123456789');
      await page.click('dialog button[value=ok]');
      await live(page);
      assert.equal(await text(page, '#scope-badge'), 'read');
      const submit = page.locator('#order-submit');
      assert.equal(await submit.isDisabled(), true);
      assert.match(await submit.getAttribute('title'), /trade scope; this one has read/);
      assert.equal(await page.locator('#kill-stop').isDisabled(), true);
      // Prices flow for a read token too; the token never shows on the page.
      await until(page, () => /\d/.test(document.querySelector('#tick-last').textContent));
      assert.equal((await page.content()).includes('read-only-token-0123456789'), false);
      // Kept for the browser session only.
      const stored = await page.evaluate(() => [sessionStorage.getItem('laicai.token'), localStorage.getItem('laicai.token')]);
      assert.deepEqual(stored, ['read-only-token-0123456789', null]);
    });
  } finally {
    await page.close();
    await engine.stop();
  }
});

test('the log pane shows the engine\u2019s own log as it happens', async (t) => {
  const engine = await Engine.start();
  const page = await openDashboard(engine);
  try {
    await withScreenshot(t, page, async () => {
      await live(page);
      await page.click('.tabs button[data-tab=logs]');
      await command(page, 'cancel_order', { order_id: 'ORD-none' });
      await until(page, () => /command refused/.test(document.querySelector('.tab[data-pane=logs] .scroll').textContent));
      await page.click('.tabs button[data-tab=health]');
      await until(page, () => document.querySelectorAll('.tab[data-pane=health] tbody tr').length >= 5);
      assert.match(await text(page, '.tab[data-pane=health] tbody'), /registry[\s\S]*running/);
    });
  } finally {
    await page.close();
    await engine.stop();
  }
});

test('a Binance connection to a dead venue shows its retries, never its secret, and is deleted', async (t) => {
  const engine = await Engine.start({ config: '[connections]\nbackoff_base_ms = 200\nbackoff_max_ms = 1000\n' });
  const page = await openDashboard(engine);
  try {
    await withScreenshot(t, page, async () => {
      await live(page);
      await page.click('.tabs button[data-tab=connections]');
      const form = page.locator('.tab[data-pane=connections] form');
      await form.locator('input[name=name]').fill('deadvenue');
      await form.locator('input[name=api_key]').fill('key-shown-nowhere-0001');
      await form.locator('input[name=api_secret]').fill('secret-shown-nowhere-0002');
      // Nothing listens there: the connector fails and retries with backoff.
      await form.locator('input[name=rest_url]').fill('http://127.0.0.1:9');
      await form.locator('input[name=ws_url]').fill('ws://127.0.0.1:9');
      await form.locator('button[type=submit]').click();
      await until(page, () => /created/.test(document.querySelector('.tab[data-pane=connections] [data-result]').textContent));
      assert.equal(await form.locator('input[name=api_secret]').inputValue(), '', 'the secret field is cleared once sent');
      const row = page.locator('.tab[data-pane=connections] tbody tr').first();
      await until(page, () => {
        const tr = document.querySelector('.tab[data-pane=connections] tbody tr');
        return tr && /disconnected/.test(tr.textContent) && /in \d+ s|now/.test(tr.textContent) && Number(tr.children[4].textContent) >= 1;
      }, null, 15000);
      assert.match(await row.innerText(), /deadvenue[\s\S]*binance/);
      // Neither the secret nor the key is anywhere on the page.
      const html = await page.content();
      assert.equal(html.includes('secret-shown-nowhere-0002'), false);
      assert.equal(html.includes('key-shown-nowhere-0001'), false);
      await row.locator('button', { hasText: 'Delete' }).click();
      await page.click('dialog button[value=ok]');
      await until(page, () => document.querySelectorAll('.tab[data-pane=connections] tbody tr').length === 0);
      assert.deepEqual(page.problems.filter((p) => !p.includes('127.0.0.1:9')), []);
    });
  } finally {
    await page.close();
    await engine.stop();
  }
});
