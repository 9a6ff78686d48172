// Measures the dashboard under the fast feed (configs/fast-feed.toml:
// 1000 steps a second per pair, about 2 000 events a second): the load
// time (navigation to the first live price drawn), the longest frame in
// a 10 s window (the largest gap between animation frames, the
// long-animation-frame entries, and the longest main-thread task of a
// Chromium performance trace of those 10 s), and the JS heap after a
// forced GC every minute for --minutes (default 10).
//
//   node tests/browser/measure.js [--minutes 10]
//
// A measurement, not a test: these machines are noisy; report the
// numbers with the command.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine, openDashboard, live, sleep, closeBrowser, launch, ROOT } from './harness.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const minutes = arg('minutes', 10);

const feed = readFileSync(join(ROOT, 'configs/fast-feed.toml'), 'utf8');
const engine = await Engine.start({ config: `${feed}\n[server]\nmax_messages_per_sec = 1000\n` });
try {
  const page = await openDashboard(engine, { path: '/?measure' });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  await live(page);
  const load = await page.evaluate(async () => {
    // Navigation start → the first price drawn.
    while (!/\d/.test(document.querySelector('#tick-last').textContent)) await new Promise((r) => setTimeout(r, 5));
    return performance.now();
  });
  const heap = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const get = (n) => metrics.find((m) => m.name === n)?.value ?? 0;
    return { heapMiB: get('JSHeapUsedSize') / 2 ** 20, nodes: get('Nodes'), listeners: get('JSEventListeners') };
  };
  await sleep(5000);
  // Events per second the page applies.
  const rate = await page.evaluate(async () => {
    const a = window.laicai.api.stats.received;
    await new Promise((r) => setTimeout(r, 5000));
    return (window.laicai.api.stats.received - a) / 5;
  });
  // 10 s: frame gaps, long animation frames, and a trace.
  await page.evaluate(() => {
    window.__frames = { max: 0, count: 0, loaf: [] };
    let last = performance.now();
    const tick = (t) => {
      window.__frames.max = Math.max(window.__frames.max, t - last);
      window.__frames.count += 1;
      last = t;
      if (!window.__frames.done) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__frames.loaf.push(e.duration);
    }).observe({ type: 'long-animation-frame' });
  });
  const browser = await launch();
  const tracePath = join(engine.state, 'trace.json');
  await browser.startTracing(page, { path: tracePath, categories: ['devtools.timeline', 'toplevel'] });
  await sleep(10000);
  await browser.stopTracing();
  const frames = await page.evaluate(() => {
    window.__frames.done = true;
    return window.__frames;
  });
  const trace = JSON.parse(readFileSync(tracePath, 'utf8'));
  const events = trace.traceEvents ?? trace;
  const main = new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const tasks = events.filter((e) => (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') && e.dur && main.has(`${e.pid}:${e.tid}`)).map((e) => e.dur / 1000);
  const longestTask = tasks.length ? Math.max(...tasks) : NaN;
  console.log(`load: first price drawn ${load.toFixed(0)} ms after navigation`);
  console.log(`feed: ${rate.toFixed(0)} frames/s received by the page`);
  console.log(`10 s window: ${frames.count} animation frames, longest gap between frames ${frames.max.toFixed(1)} ms, ` +
    `${frames.loaf.length} long animation frames (> 50 ms)${frames.loaf.length ? `, longest ${Math.max(...frames.loaf).toFixed(0)} ms` : ''}, ` +
    `longest main-thread task in the trace ${longestTask.toFixed(1)} ms of ${tasks.length}`);
  const start = await heap();
  console.log(`minute 0: heap ${start.heapMiB.toFixed(1)} MiB, ${start.nodes} DOM nodes, ${start.listeners} listeners`);
  for (let m = 1; m <= minutes; m++) {
    await sleep(60000);
    const h = await heap();
    console.log(`minute ${m}: heap ${h.heapMiB.toFixed(1)} MiB, ${h.nodes} DOM nodes, ${h.listeners} listeners`);
  }
  if (page.problems.length) console.log('problems:', page.problems);
} finally {
  await closeBrowser();
  await engine.stop();
}
