// The page's sequencer alone (web/js/sequencer.js, the module the page
// loads): exactly once and in order across a reconnect.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sequencer, kindOf, RETAINED, MARKET, SNAPSHOT, OWN } from '../../web/js/sequencer.js';

function live(s) {
  assert.deepEqual(s.onFrame(10, SNAPSHOT, 'snap10'), ['snap10']);
  assert.deepEqual(s.onFrame(11, RETAINED, 'a11'), ['a11']);
  assert.deepEqual(s.onFrame(12, MARKET, 'p12'), ['p12']);
  assert.equal(s.last, 12);
}

test('frames are classified as the engine replays them', () => {
  assert.equal(kindOf({ type: 'snapshot' }), SNAPSHOT);
  assert.equal(kindOf({ type: 'orderbook' }), MARKET);
  assert.equal(kindOf({ type: 'order_update' }), RETAINED);
  assert.equal(kindOf({ type: 'error' }), OWN);
});

test('a replay interleaved with live frames comes out once, in order', () => {
  const s = new Sequencer();
  live(s);
  assert.equal(s.reconnected(), 12);
  // Missed: 13, 15; the new snapshot is at 15; live 16, then the replay's
  // frames, its answer first.
  const got = [];
  got.push(...s.onFrame(15, SNAPSHOT, 'snap15'));
  got.push(...s.onFrame(16, RETAINED, 'c16'));
  got.push(...s.replayed(16, 3));
  got.push(...s.onFrame(13, RETAINED, 'a13'));
  assert.deepEqual(got, []);
  got.push(...s.onFrame(15, RETAINED, 'b15'));
  assert.deepEqual(got, ['a13', 'b15', 'c16']);
  assert.deepEqual(s.onFrame(16, RETAINED, 'c16'), []);
});

test("a frame numbered for this connection does not count towards the replay", () => {
  const s = new Sequencer();
  live(s);
  assert.equal(s.reconnected(), 12);
  // Missed: 13, 14; the new snapshot is at 14; an `error` is numbered 15;
  // 16 comes live; the replay sends 13, 14, 16, its answer first.
  const got = [];
  got.push(...s.onFrame(14, SNAPSHOT, 'snap14'));
  got.push(...s.onFrame(15, OWN, 'err15'));
  got.push(...s.onFrame(16, RETAINED, 'c16'));
  got.push(...s.replayed(16, 3));
  got.push(...s.onFrame(13, RETAINED, 'a13'));
  // Counting the error, 14 would come after the release and be dropped.
  assert.deepEqual(got, []);
  got.push(...s.onFrame(14, RETAINED, 'b14'));
  assert.deepEqual(got, ['a13', 'b14', 'err15', 'c16']);
  assert.equal(s.last, 16);
});
