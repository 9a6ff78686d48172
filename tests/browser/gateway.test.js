// The dashboard served by a gateway (`laicai gateway`), in a real headless
// Chromium: a real nats-server, the engine publishing to it, and the
// gateway serving the page and the API from the bus. Live prices and the
// book, an order placed from the form filled by the engine and shown, and
// the node named. Skipped without nats-server unless LAICAI_REQUIRE_NATS.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, Gateway, startNats, openDashboard, withScreenshot, command, live, closeBrowser } from './harness.js';

after(closeBrowser);

test('the page on a gateway shows live prices, places an order the engine fills, and names its node', async (t) => {
  const nats = await startNats();
  if (!nats) {
    t.skip('no nats-server: apt-get install nats-server');
    return;
  }
  const engine = await Engine.start({ config: `[bus]\nurl = "${nats.url}"\nengine = "browser"\n` });
  const gateway = await Gateway.start({ engine, bus: nats.url });
  const page = await openDashboard(gateway);
  try {
    await withScreenshot(t, page, async () => {
      await live(page);
      const until = async (fn, arg, timeout = 10000) => (await page.waitForFunction(fn, arg, { timeout, polling: 100 })).jsonValue();
      await until(() => /\d/.test(document.querySelector('#tick-last').textContent), null, 5000);
      await until(() => document.querySelectorAll('#book-bids tr td:first-child').length > 0);
      const status = await command(page, 'get_system_status');
      assert.equal(status.node, 'gw-browser');
      assert.equal(status.engine, 'browser');
      // A market buy from the form (Buy is the default side): the engine
      // fills it, the gateway shows it.
      await page.selectOption('#order-form select[name=type]', 'market');
      await page.fill('#order-form input[name=size]', '0.01');
      await page.click('#order-submit');
      await until(() => /Order placed/.test(document.querySelector('#order-result').textContent));
      const id = (await page.locator('#order-result').innerText()).match(/(ORD-\S+)/)[1];
      await until((k) => window.laicai.model.orders.get(k)?.status === 'filled', id);
      const orders = await command(page, 'get_orders', { status: 'filled' });
      assert.ok(orders.orders.some((o) => o.orderId === id || o.order_id === id), JSON.stringify(orders).slice(0, 300));
      assert.deepEqual(page.problems, []);
    });
  } finally {
    await page.close();
    await gateway.stop();
    await engine.stop();
    nats.stop();
  }
});
