// The page's one WebSocket to /api/stream: the snapshot, live events in
// seq order, commands answered by request_id, and reconnects with a
// jittered exponential backoff that replay from the last seq applied, so
// no order event is missed or applied twice.

import { parseFrame, commandFrame } from './wire.js';
import { Sequencer, kindOf } from './sequencer.js';

const COMMAND_TIMEOUT_MS = 10000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 10000;

export class CommandError extends Error {
  constructor(response) {
    super(response.message || response.error || 'refused');
    this.code = response.error;
    this.response = response;
  }
}

export class Connection {
  /**
   * handlers: item(frame) for every event in order; resync() before a
   * fresh snapshot replaces everything; state({state, attempt, retryAt,
   * detail}) on every change; opened() once each connection is caught up.
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.token = null;
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();
    this.sequencer = new Sequencer();
    this.attempt = 0;
    this.everOpened = false;
    this.timer = null;
    this.state = 'connecting';
    this.stats = { received: 0, sent: 0, reconnects: 0, duplicates: 0 };
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}/api/stream`;
  }

  setState(state, extra = {}) {
    this.state = state;
    this.handlers.state({ state, attempt: this.attempt, ...extra });
  }

  connect(token) {
    this.token = token;
    clearTimeout(this.timer);
    const protocols = token ? [`bearer.${token}`] : [];
    let ws;
    try {
      ws = new WebSocket(this.url(), protocols);
    } catch (e) {
      this.scheduleReconnect(String(e));
      return;
    }
    this.ws = ws;
    let opened = false;
    this.setState(this.everOpened ? 'reconnecting' : 'connecting');
    ws.onopen = () => {
      opened = true;
      const since = this.sequencer.reconnected();
      if (since !== null) this.replay(since);
    };
    ws.onmessage = (msg) => this.onMessage(msg.data);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      for (const [, p] of this.pending) p.reject(new Error('the connection closed'));
      this.pending.clear();
      const why = e.reason || (opened ? 'the connection closed' : 'the engine cannot be reached');
      if (!opened && !this.everOpened && this.handlers.refused) {
        // Never got in: maybe a token is needed or was refused.
        if (this.handlers.refused(why)) return;
      }
      this.scheduleReconnect(`${why}${e.code ? ` (${e.code})` : ''}`);
    };
  }

  scheduleReconnect(detail) {
    this.attempt += 1;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(this.attempt - 1, 10));
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.setState('disconnected', { retryAt: Date.now() + delay, detail });
    this.timer = setTimeout(() => {
      this.stats.reconnects += 1;
      this.connect(this.token);
    }, delay);
  }

  /** Reconnect now (the banner's button). */
  retryNow() {
    if (this.ws) return;
    clearTimeout(this.timer);
    this.connect(this.token);
  }

  async replay(since) {
    try {
      const r = await this.request('replay', { since_seq: since }, { raw: true });
      if (r.success) {
        this.emit(this.sequencer.replayed(Number(r.seq), Number(r.count)));
        this.caughtUp();
      } else {
        this.doResync(r.message || r.error);
      }
    } catch (e) {
      if (this.ws) this.doResync(String(e.message || e));
    }
  }

  doResync(why) {
    const items = this.sequencer.resync();
    this.handlers.resync(why);
    this.emit(items);
    this.caughtUp();
  }

  caughtUp() {
    this.attempt = 0;
    this.setState('live');
    this.handlers.opened?.();
  }

  emit(items) {
    for (const f of items) this.handlers.item(f);
  }

  onMessage(text) {
    this.stats.received += 1;
    let f;
    try {
      f = parseFrame(text);
    } catch {
      return;
    }
    if (f.type === 'response' || (f.type === 'error' && f.request_id !== undefined)) {
      const p = this.pending.get(String(f.request_id));
      if (p) {
        this.pending.delete(String(f.request_id));
        p.resolve(f);
      }
      return;
    }
    if (f.type === 'pong' || f.type === 'subscribed' || f.type === 'unsubscribed') return;
    if (typeof f.seq !== 'number') {
      this.handlers.item(f);
      return;
    }
    const before = this.sequencer.duplicates;
    const first = !this.everOpened && f.type === 'snapshot';
    this.emit(this.sequencer.onFrame(f.seq, kindOf(f), f));
    this.stats.duplicates += this.sequencer.duplicates - before;
    if (first) {
      this.everOpened = true;
      this.caughtUp();
    }
  }

  /**
   * Sends a command; resolves with the response's payload, or rejects with
   * a CommandError carrying the engine's code and message. With
   * `raw`, resolves with the response whatever it says.
   */
  request(cmd, params = {}, { raw = false, timeout = COMMAND_TIMEOUT_MS } = {}) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new CommandError({ error: 'disconnected', message: 'not connected to the engine' }));
        return;
      }
      const id = `web-${this.nextId++}`;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CommandError({ error: 'timeout', message: `${cmd}: no answer in ${timeout / 1000} s` }));
      }, timeout);
      this.pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          if (raw || r.success) resolve(r);
          else reject(new CommandError(r));
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(new CommandError({ error: 'disconnected', message: e.message }));
        },
      });
      this.ws.send(commandFrame(cmd, params, id));
      this.stats.sent += 1;
    });
  }
}
