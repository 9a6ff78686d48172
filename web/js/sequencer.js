// What the page applies, in `seq` order and exactly once, across
// reconnects (the same rules as the Rust SDK's Sequencer). Live, an event
// at or below the last applied `seq` is a duplicate. After a reconnect
// everything is held until the `replay` the page asked for has arrived in
// full (replayed and live frames interleave, and the replay's answer may
// overtake its frames); then the held events go out in order. When the
// server cannot replay (`replay_gap`), the page resyncs from the fresh
// snapshot and what followed it.

export const RETAINED = 0;
export const MARKET = 1;
export const SNAPSHOT = 2;
// Numbered for this connection alone (an `error` answering one of its
// frames): applied in order, never replayed, so not counted as one of the
// replay's events (counting it would let the held events go before the
// replay's last ones came, and those would then be dropped).
export const OWN = 3;

const MARKET_TYPES = new Set(['price', 'market_data', 'orderbook']);

export function kindOf(frame) {
  if (frame.type === 'snapshot') return SNAPSHOT;
  if (frame.type === 'error') return OWN;
  return MARKET_TYPES.has(frame.type) ? MARKET : RETAINED;
}

export class Sequencer {
  constructor() {
    this.last = 0;
    this.started = false;
    this.catchUp = null;
    this.duplicates = 0;
  }

  /** A new connection is up: the seq to replay from, or null for the first. */
  reconnected() {
    if (!this.started) return null;
    this.catchUp = { since: this.last, held: new Map(), replayed: null };
    return this.last;
  }

  get catchingUp() {
    return this.catchUp !== null;
  }

  /** A frame with a seq arrived: what to apply now, in order. */
  onFrame(seq, kind, item) {
    const c = this.catchUp;
    if (!c) {
      if (kind === SNAPSHOT && !this.started) {
        this.started = true;
        this.last = seq;
        return [item];
      }
      if (this.started && seq <= this.last) {
        this.duplicates += 1;
        return [];
      }
      this.started = true;
      this.last = seq;
      return [item];
    }
    if (kind !== SNAPSHOT && seq <= c.since) {
      this.duplicates += 1;
      return [];
    }
    // A snapshot at seq comes after the event with that seq.
    const key = seq * 2 + (kind === SNAPSHOT ? 1 : 0);
    if (c.held.has(key)) this.duplicates += 1;
    c.held.set(key, { seq, kind, item });
    return this.release();
  }

  /** The replay's answer: `count` events up to `upto`. */
  replayed(upto, count) {
    if (this.catchUp) this.catchUp.replayed = { upto, count };
    return this.release();
  }

  /** No replay possible: the fresh snapshot, then what came after it. */
  resync() {
    const c = this.catchUp;
    if (!c) return [];
    this.catchUp = null;
    const held = [...c.held.entries()].sort((a, b) => a[0] - b[0]);
    const snaps = held.filter(([, h]) => h.kind === SNAPSHOT);
    const from = snaps.length ? snaps[snaps.length - 1][0] : 0;
    const out = [];
    for (const [key, h] of held) {
      if (key < from || (h.kind === SNAPSHOT && key !== from)) continue;
      this.last = Math.max(this.last, h.seq);
      out.push(h.item);
    }
    return out;
  }

  release() {
    const c = this.catchUp;
    if (!c || !c.replayed) return [];
    const { upto, count } = c.replayed;
    let have = 0;
    for (const h of c.held.values()) {
      if (h.kind === RETAINED && h.seq > c.since && h.seq <= upto) have += 1;
    }
    if (have < count) return [];
    this.catchUp = null;
    const out = [];
    for (const [, h] of [...c.held.entries()].sort((a, b) => a[0] - b[0])) {
      // The snapshot is redundant once nothing is missing; market data
      // older than what was applied is stale.
      if (h.kind === SNAPSHOT || (h.kind === MARKET && h.seq <= this.last)) continue;
      this.last = Math.max(this.last, h.seq);
      out.push(h.item);
    }
    return out;
  }
}
