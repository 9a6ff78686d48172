// Takes the README's screenshots (docs/dashboard-*.png): an engine with
// a pmm, a grid and a twap strategy running, a few manual orders, a
// backtest run, then every screen of the dashboard at 1280×800.
// Run: node tests/browser/screenshots.js (after cargo build --release).

import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Engine, openDashboard, command, live, sleep, closeBrowser, ROOT } from './harness.js';

const out = join(ROOT, 'docs');
mkdirSync(out, { recursive: true });
const engine = await Engine.start();
try {
  const page = await openDashboard(engine);
  await live(page);
  await page.evaluate(() => localStorage.setItem('laicai.theme', 'dark'));
  await page.reload();
  await live(page);
  const mid = Number(await page.waitForFunction(() => window.laicai.model.prices.get('paper|BTC-USDT')?.bid).then((h) => h.jsonValue()));
  const create = async (name, type, pair, config) => {
    const r = await command(page, 'create_strategy', { name, type, exchange: 'paper', pair, config });
    await command(page, 'start_strategy', { id: r.instance_id });
  };
  await create('BTC maker', 'pmm', 'BTC-USDT', { bid_spread: '0.02', ask_spread: '0.02', order_levels: 2, order_refresh_time: 5 });
  await create('ETH grid', 'grid', 'ETH-USDT', { lower_price: '2700', upper_price: '2900', grid_levels: 8, order_amount: '0.05' });
  await create('Buy 0.2 BTC', 'twap', 'BTC-USDT', { side: 'buy', total_size: '0.2', duration_s: 120, slices: 12 });
  for (const f of [0.995, 0.99]) {
    await command(page, 'place_order', { symbol: 'BTC-USDT', side: 'buy', type: 'limit', size: '0.01', price: (Math.floor(mid * f * 100) / 100).toFixed(2) });
  }
  await command(page, 'place_order', { symbol: 'ETH-USDT', side: 'buy', type: 'market', size: '0.5' });
  const bt = await command(page, 'start_backtest', { pair: 'BTC-USDT', data: 'sample/BTCUSDT-trades-2025-01-01.csv.gz', strategy: { type: 'pmm', config: { bid_spread: '0.05', ask_spread: '0.05' } } });
  await sleep(15000);
  const shots = [
    ['orders', 'dashboard-orders'],
    ['trades', 'dashboard-trades'],
    ['positions', 'dashboard-positions'],
    ['balances', 'dashboard-balances'],
    ['strategies', 'dashboard-strategies'],
    ['connections', 'dashboard-connections'],
    ['backtests', 'dashboard-backtests'],
    ['health', 'dashboard-health'],
    ['logs', 'dashboard-logs'],
    ['alerts', 'dashboard-alerts'],
  ];
  for (const [tab, name] of shots) {
    await page.click(`.tabs button[data-tab=${tab}]`);
    if (tab === 'orders') await page.selectOption('.tab[data-pane=orders] select[name=status]', '');
    if (tab === 'backtests') await page.click(`.tab[data-pane=backtests] tr[data-key="${bt.backtest_id}"]`);
    await sleep(800);
    await page.screenshot({ path: join(out, `${name}.png`) });
  }
  await page.click('.tabs button[data-tab=orders]');
  await page.click('#theme-toggle');
  await sleep(800);
  await page.screenshot({ path: join(out, 'dashboard-light.png') });
  await page.click('#theme-toggle');
  await page.click('#kill-stop');
  await sleep(300);
  await page.screenshot({ path: join(out, 'dashboard-kill-switch.png') });
  await page.keyboard.press('Escape');
  await engine.kill();
  await page.locator('#banner').waitFor({ state: 'visible' });
  await sleep(600);
  await page.screenshot({ path: join(out, 'dashboard-disconnected.png') });
  console.log(`screenshots in ${out}; problems: ${JSON.stringify(page.problems)}`);
} finally {
  await closeBrowser();
  await engine.stop();
}
