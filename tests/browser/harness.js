// The browser tests' parts, all real: the engine binary on a free
// loopback port with its own state directory, and Debian's Chromium
// driven by playwright-core. Every page records its console errors and
// any request that leaves the engine's origin; a failed test saves a
// screenshot (tests/browser/screenshots/failed-<test>.png).

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, existsSync, readFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '..', '..');
export const SHOTS = join(here, 'screenshots');

/** The engine binary: $LAICAI_BIN, else the release build, else the debug one. */
export function engineBinary() {
  const candidates = [process.env.LAICAI_BIN, join(ROOT, 'target/release/laicai'), join(ROOT, 'target/debug/laicai')].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`no laicai binary (build it: cargo build --release); looked at ${candidates.join(', ')}`);
  return found;
}

export function chromiumPath() {
  const p = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(p)) throw new Error(`no Chromium at ${p}: apt-get install -y chromium (or set CHROMIUM)`);
  return p;
}

export async function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

/** The test pairs: fast enough to see within a second, slow enough for a 2-core machine. */
export const TEST_PAIRS = `
[[paper.pairs]]
symbol = "BTC-USDT"
start_price = "52000"
tick_size = "0.01"
step_size = "0.00001"
min_notional = "5"
ticks_per_sec = 20.0
volatility_bps = 1.0
spread_bps = 1.0
level_spacing_bps = 0.5
depth_levels = 20
level_size = "0.4"
trade_probability = 0.6
trade_size = "0.05"

[[paper.pairs]]
symbol = "ETH-USDT"
start_price = "2800"
tick_size = "0.01"
step_size = "0.0001"
min_notional = "5"
ticks_per_sec = 20.0
volatility_bps = 2.0
spread_bps = 1.5
level_spacing_bps = 0.8
depth_levels = 20
level_size = "5"
trade_probability = 0.6
trade_size = "0.8"
`;

/**
 * A running engine. `config` is laid over a base with no boot strategy
 * and the sample data as its backtest data directory.
 */
export class Engine {
  static async start({ config = '', state, port, env = {} } = {}) {
    const e = new Engine();
    e.state = state ?? mkdtempSync(join(tmpdir(), 'laicai-browser-'));
    e.port = port ?? (await freePort());
    const pairs = config.includes('[[paper.pairs]]') ? '' : TEST_PAIRS;
    e.config = `[strategies]\nboot = []\n[backtest]\ndata_dir = "${join(ROOT, 'data')}"\nreport_dir = "${join(e.state, 'reports')}"\n${pairs}\n${config}`;
    writeFileSync(join(e.state, 'test.toml'), e.config);
    e.log = join(e.state, `engine-${e.port}.log`);
    await e.spawn(env);
    return e;
  }

  /** The binary's arguments and environment. */
  command() {
    return {
      args: ['--config', join(this.state, 'test.toml'), '--bind', `127.0.0.1:${this.port}`],
      env: { LAICAI_STATE_DIR: this.state },
    };
  }

  /** Answers 200 once it can serve. */
  get readyPath() {
    return '/api/health';
  }

  async spawn(env = {}) {
    appendFileSync(this.log, `--- start on ${this.port}\n`);
    const c = this.command();
    this.child = spawn(engineBinary(), c.args, {
      env: { ...process.env, ...c.env, RUST_LOG: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout.on('data', (d) => appendFileSync(this.log, d));
    this.child.stderr.on('data', (d) => appendFileSync(this.log, d));
    this.exited = new Promise((ok) => this.child.on('exit', ok));
    const deadline = Date.now() + 30000;
    for (;;) {
      try {
        const r = await fetch(`${this.url}${this.readyPath}`);
        if (r.ok) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`it did not come up:\n${this.output()}`);
      await sleep(100);
    }
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  output() {
    return existsSync(this.log) ? readFileSync(this.log, 'utf8') : '';
  }

  /** SIGKILL: no chance to say goodbye. */
  async kill() {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await Promise.race([this.exited, sleep(15000)]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /** The same engine again, on the same port and state. */
  async restart() {
    await this.spawn();
  }
}

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

let browser;

export async function launch() {
  browser ??= await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Chromium's background services would try the (closed) network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  return browser;
}

export async function closeBrowser() {
  await browser?.close();
  browser = undefined;
}

/**
 * A fresh page on the engine's dashboard at 1280×800. `page.problems`
 * collects console errors, uncaught exceptions and requests to any other
 * origin.
 */
export async function openDashboard(engine, { viewport = { width: 1280, height: 800 }, path = '/' } = {}) {
  const b = await launch();
  const context = await b.newContext({ viewport });
  const page = await context.newPage();
  page.problems = [];
  page.requests = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.problems.push(`exception: ${e.message}`));
  page.on('request', (r) => {
    page.requests.push(r.url());
    const u = new URL(r.url());
    if (u.host !== new URL(engine.url).host && u.protocol !== 'data:') page.problems.push(`outside request: ${r.url()}`);
  });
  await page.goto(`${engine.url}${path}`);
  return page;
}

/** Runs `body(page)`; on failure saves a screenshot named after the test. */
export async function withScreenshot(t, page, body) {
  try {
    return await body();
  } catch (e) {
    mkdirSync(SHOTS, { recursive: true });
    const name = t.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    await page.screenshot({ path: join(SHOTS, `failed-${name}.png`) }).catch(() => {});
    throw e;
  }
}

/** Sends one command over its own WebSocket (Node 20: the `ws` protocol by hand is not needed; the engine's HTTP has no command endpoint, so the page's own socket is used). */
export async function command(page, cmd, params = {}) {
  return page.evaluate(([c, p]) => window.laicai.api.request(c, p, { raw: true }), [cmd, params]);
}

/** Waits until the page's connection is live. */
export async function live(page, timeout = 10000) {
  await page.waitForFunction(() => window.laicai?.api?.state === 'live' && window.laicai.model.session, null, { timeout });
}

/**
 * `nats-server -js` on a free loopback port with a temporary store, or
 * null (the test is skipped) when it is not installed and
 * LAICAI_REQUIRE_NATS is not set.
 */
export async function startNats() {
  const port = await freePort();
  const store = mkdtempSync(join(tmpdir(), 'laicai-nats-'));
  const child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], { stdio: 'ignore' });
  const failed = await new Promise((ok) => {
    child.on('error', (e) => ok(e));
    setTimeout(() => ok(null), 300);
  });
  if (failed) {
    if (process.env.LAICAI_REQUIRE_NATS) throw new Error(`no nats-server (${failed.message}): apt-get install nats-server`);
    return null;
  }
  const deadline = Date.now() + 10000;
  while (!(await new Promise((ok) => net.connect(port, '127.0.0.1').on('connect', function () { this.destroy(); ok(true); }).on('error', () => ok(false))))) {
    if (Date.now() > deadline) throw new Error('nats-server did not listen');
    await sleep(50);
  }
  return { url: `nats://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

/** `laicai gateway` to `engine` over the bus `bus`, with the engine's config. */
export class Gateway extends Engine {
  static async start({ engine, bus, node = 'gw-browser' }) {
    const g = new Gateway();
    g.state = engine.state;
    g.port = await freePort();
    g.bus = bus;
    g.node = node;
    g.log = join(g.state, `gateway-${g.port}.log`);
    await g.spawn();
    return g;
  }

  command() {
    return {
      args: ['gateway', '--config', join(this.state, 'test.toml'), '--bus', this.bus, '--bind', `127.0.0.1:${this.port}`, '--node', this.node],
      env: {},
    };
  }

  /** Ready once it has reached the engine. */
  get readyPath() {
    return '/api/health/ready';
  }
}
