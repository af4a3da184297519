import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors';
import {
  recordWireBytes,
  sourceCandidate,
  type KeyRecord,
  type RecoveryContext,
  type View,
} from '@heal/kv/replica';
import { Handoffs, HEAL_EARLY_HANDOFF_MAX, type HandoffStats } from '../src/heal-handoff.js';
import { HEAL_HANDOFF_MAX_ITEMS, type HealHandoffMsg } from '../src/heal-messages.js';
import { MissedUpdates } from '../src/missed-updates.js';
import { buddyOf, descentHelpers, keeperOf } from '../src/roles.js';
import { healFaults } from '../src/heal-faults.js';

/** Unit tests of the Buddy's handoffs and buffers (ARCHITECTURE.md §6, HEAL steps 1-3) and of the roles. */

const view = (epoch: number, ids: ActorId[], shadows: ActorId[] = []): View => ({
  epoch,
  members: ids.map((id) => ({ id, incarnation: 0 })),
  shadows,
});
const record = (key: string, value = 'v'): KeyRecord => ({
  key,
  ts: { version: 1, cid: 0 },
  value,
  state: 'valid',
  origin: 0,
  seq: 1,
});

test('a Missed-updates buffer keeps the latest size per key up to its bound, then overflows and forgets', () => {
  const b = new MissedUpdates(3, 100, true);
  assert.equal(b.covers, true);
  b.record('a', 40);
  b.record('b', 30);
  b.record('a', 50);
  assert.deepEqual([b.keys, b.bytes, [...b.keyList()]], [2, 80, ['a', 'b']]);
  b.record('c', 20);
  assert.deepEqual([b.keys, b.bytes, b.overflow], [3, 100, false], 'exactly at the bound fits');
  b.record('b', 29);
  b.record('b', 30);
  assert.equal(b.bytes, 100, 'a key recorded again replaces its size');
  b.record('d', 1);
  assert.deepEqual([b.keys, b.bytes, b.overflow, b.covers], [0, 0, true, false]);
  b.record('e', 1);
  assert.equal(b.keys, 0, 'an overflowed buffer records nothing');
  assert.equal(
    new MissedUpdates(3, 100, false).covers,
    false,
    'a buffer opened by a later Buddy never covers',
  );
});

test('a closed buffer records nothing until it is reopened', () => {
  const b = new MissedUpdates(3, 100, true);
  assert.equal(b.open, true);
  b.close();
  b.record('a', 10);
  assert.deepEqual([b.open, b.keys], [false, 0]);
  b.reopen();
  b.record('a', 10);
  assert.deepEqual([b.open, b.keys, b.bytes], [true, 1, 10]);
});

test('roles: the Buddy is the next full member after the failed one, wrapping; helpers, keeper and sources are full members', () => {
  const v = view(1, [4, 1, 3, 0, 2], [3]);
  assert.equal(buddyOf(v, 1), 2);
  assert.equal(buddyOf(v, 2), 4, 'a shadow is passed over');
  assert.equal(buddyOf(v, 4), 0, 'wrapping around to the lowest');
  assert.equal(buddyOf(v, 5), 0, 'a failed replica no longer listed');
  assert.equal(buddyOf(view(1, [1], []), 1), undefined);
  assert.equal(buddyOf(view(1, [1, 2], [2]), 1), undefined, 'no full member but itself');
  assert.deepEqual(descentHelpers(v, 2, 1, 5), [4, 0]);
  assert.deepEqual(descentHelpers(v, 2, 1, 1), [4]);
  assert.equal(keeperOf(v), 0);
  assert.equal(keeperOf(view(1, [5, 2, 7], [2])), 5);
  assert.equal(keeperOf(view(1, [2], [2])), undefined);
  assert.deepEqual(
    [0, 1, 2, 3].map((attempt) => sourceCandidate(v, 1, attempt)),
    [0, 2, 4, 0],
  );
  assert.equal(sourceCandidate(view(1, [1, 3], [3]), 1, 0), undefined);
});

/** A recovery context with what Handoffs reads; sent messages recorded. */
function context(
  self: ActorId,
  v: View,
  notDurable: KeyRecord[] = [],
  held: KeyRecord[] = [],
  recovering = false,
) {
  const sent: { to: ActorId; msg: { kind: string; [field: string]: unknown } }[] = [];
  const records = new Map(held.map((r) => [r.key, r]));
  const ctx = {
    self,
    view: v,
    recovering,
    send: (to: ActorId, msg: { kind: string; [field: string]: unknown }) => sent.push({ to, msg }),
    records: () => records,
    notDurable: () => notDurable,
  } as unknown as RecoveryContext;
  return { ctx, sent, records };
}
const newStats = (): HandoffStats => ({
  handoffItemsSent: 0,
  handoffItemsTaken: 0,
  handoffItemsEarly: 0,
  handoffItemsDropped: 0,
  buffers: 0,
});
const NO_FAULTS = healFaults({});

test('a view that removes a replica: its Buddy opens a buffer and takes its own writes not at DP; the others hand theirs over in batches', () => {
  const before = view(1, [0, 1, 2, 3]);
  const after = view(2, [0, 2, 3]);
  const pending = Array.from({ length: HEAL_HANDOFF_MAX_ITEMS + 1 }, (_, i) => record(`k${i}`));
  // replica 0: not the Buddy of 1 (2 is)
  const stats0 = newStats();
  const h0 = new Handoffs(0, 1000, NO_FAULTS, stats0);
  const at0 = context(0, after, pending);
  h0.viewInstalled(at0.ctx, before, true);
  assert.deepEqual(
    at0.sent.map(({ to, msg }) => [
      to,
      msg.kind,
      msg['failed'],
      (msg['items'] as unknown[]).length,
    ]),
    [
      [2, 'heal-handoff', 1, HEAL_HANDOFF_MAX_ITEMS],
      [2, 'heal-handoff', 1, 1],
    ],
  );
  const first = (at0.sent[0]?.msg['items'] as HealHandoffMsg['items'])[0];
  assert.deepEqual(first, { key: 'k0', version: 1, cid: 0, origin: 0, seq: 1 });
  assert.equal(stats0.handoffItemsSent, HEAL_HANDOFF_MAX_ITEMS + 1);
  assert.equal(h0.buffer(1), undefined);
  assert.equal(stats0.buffers, 0);
  // replica 2: the Buddy
  const stats2 = newStats();
  const h2 = new Handoffs(2, 1000, NO_FAULTS, stats2);
  const mine = [record('a'), record('gone')];
  const at2 = context(2, after, mine, [record('a', 'xyz')]);
  h2.viewInstalled(at2.ctx, before, true);
  assert.deepEqual(at2.sent, [], 'the Buddy takes its own handoff');
  const buffer = h2.buffer(1);
  assert.ok(buffer);
  assert.deepEqual(
    [buffer.complete, [...buffer.keyList()], buffer.bytes],
    [true, ['a'], recordWireBytes(record('a', 'xyz'))],
  );
  assert.deepEqual([stats2.buffers, stats2.handoffItemsSent, stats2.handoffItemsTaken], [1, 2, 2]);
  h2.applied(record('b', 'bb'));
  assert.deepEqual([...buffer.keyList()], ['a', 'b']);
  assert.deepEqual(h2.bufferStats(), {
    missedBufferKeys: 2,
    missedBufferBytes: recordWireBytes(record('a', 'xyz')) + recordWireBytes(record('b', 'bb')),
    buffersOverflowed: 0,
    bufferedFor: 1,
    earlyHandoffItems: 0,
  });
  h2.drop(1);
  assert.equal(h2.buffer(1), undefined);
  h2.applied(record('c'));
});

test('only a full member hands off, and only a Buddy that was full with the failed replica full opens a complete buffer', () => {
  const before = view(1, [0, 1, 2, 3], []);
  const after = view(2, [0, 2, 3]);
  const cases: [string, boolean, boolean, View][] = [
    ['wasFull', true, false, before],
    ['not full before', false, false, before],
    ['recovering', true, true, before],
    ['the failed one was a shadow', true, false, view(1, [0, 1, 2, 3], [1])],
  ];
  for (const [name, wasFull, recovering, previous] of cases) {
    const h = new Handoffs(2, 1000, NO_FAULTS, newStats());
    const at = context(2, after, [record('a')], [record('a')], recovering);
    h.viewInstalled(at.ctx, previous, wasFull);
    assert.equal(h.buffer(1)?.complete, name === 'wasFull', name);
    assert.equal(h.buffer(1)?.keys, wasFull ? 1 : 0, `${name}: its own handoff`);
    const other = new Handoffs(0, 1000, NO_FAULTS, newStats());
    const at0 = context(0, after, [record('a')], [], recovering);
    other.viewInstalled(at0.ctx, previous, wasFull);
    assert.equal(at0.sent.length, wasFull ? 1 : 0, `${name}: a handoff from 0`);
  }
  const omit = new Handoffs(0, 1000, healFaults({ testFault: 'omit-handoff' }), newStats());
  const atOmit = context(0, after, [record('a')]);
  omit.viewInstalled(atOmit.ctx, before, true);
  assert.deepEqual(atOmit.sent, [], 'the omit-handoff fault sends none');
});

test('a replica that restarts into the next view gets handoffs but no buffer; its buffer closes when it is admitted, reopens if it fails again', () => {
  const stats = newStats();
  const h = new Handoffs(2, 1000, NO_FAULTS, stats);
  h.viewInstalled(context(2, view(2, [0, 2, 3]), [], []).ctx, view(1, [0, 1, 2, 3]), true);
  const buffer = h.buffer(1);
  assert.ok(buffer);
  // 1 is admitted again (incarnation 1): the buffer closes, stays for its recovery
  const readmit: View = {
    epoch: 3,
    members: [
      { id: 0, incarnation: 0 },
      { id: 1, incarnation: 1 },
      { id: 2, incarnation: 0 },
      { id: 3, incarnation: 0 },
    ],
    shadows: [1],
  };
  h.viewInstalled(context(2, readmit, [], []).ctx, view(2, [0, 2, 3]), true);
  assert.equal(h.buffer(1), buffer);
  assert.equal(buffer.open, false);
  // a restart of 3 re-admitted in the same view: a handoff to its Buddy (0), no buffer here
  const restarted: View = {
    epoch: 4,
    members: readmit.members.map((m) => (m.id === 3 ? { id: 3, incarnation: 1 } : m)),
    shadows: [1, 3],
  };
  const at = context(2, restarted, [record('x')], [record('x')]);
  h.viewInstalled(at.ctx, readmit, true);
  assert.deepEqual(
    at.sent.map(({ to, msg }) => [to, msg['failed']]),
    [[0, 3]],
  );
  assert.equal(h.buffer(3), undefined);
  // 1 fails again before it recovered: the same buffer records again
  h.viewInstalled(context(2, view(5, [0, 2, 3]), [], []).ctx, view(4, [0, 1, 2, 3], [1]), true);
  assert.equal(h.buffer(1), buffer);
  assert.equal(buffer.open, true);
  assert.equal(stats.buffers, 1);
  // a view whose Buddy of 1 is another replica: the buffer goes
  h.viewInstalled(context(2, view(6, [0, 2, 3, 4], [2]), [], []).ctx, view(5, [0, 2, 3]), false);
  assert.equal(h.buffer(1), undefined);
});

test("handoffs: taken into an open buffer, dropped when not this replica's failure, kept when they overtake the view", () => {
  const stats = newStats();
  const h = new Handoffs(2, 1000, NO_FAULTS, stats);
  const v2 = view(2, [0, 2, 3]);
  const held = [record('a'), record('b'), record('e1'), record('e2')];
  h.viewInstalled(context(2, v2, [], held).ctx, view(1, [0, 1, 2, 3]), true);
  const at = context(2, v2, [], held);
  const handoff = (epoch: number, failed: ActorId, keys: string[]): HealHandoffMsg => ({
    kind: 'heal-handoff',
    epoch,
    sender: 0,
    failed,
    items: keys.map((key) => ({ key, version: 1, cid: 0, origin: 0, seq: 1 })),
  });
  h.onHandoff(at.ctx, handoff(2, 1, ['a', 'unknown']));
  assert.deepEqual(
    [...(h.buffer(1)?.keyList() ?? [])],
    ['a'],
    'a key it does not hold is not recorded',
  );
  assert.equal(stats.handoffItemsTaken, 2);
  h.onHandoff(at.ctx, handoff(2, 0, ['b']));
  assert.equal(stats.handoffItemsDropped, 1, 'not its failure, and no later view');
  // handoffs of views not installed here yet: kept
  h.onHandoff(at.ctx, handoff(3, 3, ['e1']));
  h.onHandoff(at.ctx, handoff(4, 3, ['e2']));
  h.onHandoff(at.ctx, handoff(4, 0, ['b']));
  assert.equal(stats.handoffItemsEarly, 3);
  assert.equal(h.bufferStats().earlyHandoffItems, 3);
  // view 3 removes 3, and 2 is its Buddy (0 and 4 are shadows): it takes both handoffs for 3;
  // the one for 0 was sent in view 4: it waits
  const v3 = view(3, [0, 2, 4], [0, 4]);
  h.viewInstalled(context(2, v3, [], held).ctx, v2, true);
  const b3 = h.buffer(3);
  assert.ok(b3);
  assert.deepEqual([...b3.keyList()].sort(), ['e1', 'e2']);
  assert.deepEqual([h.bufferStats().earlyHandoffItems, stats.handoffItemsDropped], [1, 1]);
  // view 4 does not remove 0: that handoff is not for this replica
  h.viewInstalled(context(2, view(4, [0, 2, 4], [0, 4]), [], held).ctx, v3, true);
  assert.deepEqual([h.bufferStats().earlyHandoffItems, stats.handoffItemsDropped], [0, 2]);
  // a handoff of a view that this replica skips, after which it does not buffer: dropped
  h.onHandoff(at.ctx, handoff(9, 7, ['b']));
  h.viewInstalled(
    context(2, view(10, [0, 2, 4], [0, 4]), [], held).ctx,
    view(4, [0, 2, 4], [0, 4]),
    true,
  );
  assert.deepEqual([h.bufferStats().earlyHandoffItems, stats.handoffItemsDropped], [0, 3]);
});

test('early handoffs are bounded: past HEAL_EARLY_HANDOFF_MAX items they are dropped', () => {
  const stats = newStats();
  const h = new Handoffs(2, 1000, NO_FAULTS, stats);
  const at = context(2, view(2, [0, 2, 3]));
  const items = Array.from({ length: HEAL_EARLY_HANDOFF_MAX }, () => ({
    key: 'k',
    version: 1,
    cid: 0,
    origin: 0,
    seq: 1,
  }));
  h.onHandoff(at.ctx, { kind: 'heal-handoff', epoch: 3, sender: 0, failed: 3, items });
  assert.equal(stats.handoffItemsEarly, HEAL_EARLY_HANDOFF_MAX, 'exactly the bound is kept');
  h.onHandoff(at.ctx, {
    kind: 'heal-handoff',
    epoch: 3,
    sender: 0,
    failed: 3,
    items: items.slice(0, 1),
  });
  assert.deepEqual(
    [stats.handoffItemsEarly, stats.handoffItemsDropped],
    [HEAL_EARLY_HANDOFF_MAX, 1],
  );
});

test('buffer stats count overflowed buffers', () => {
  const h = new Handoffs(2, 10, NO_FAULTS, newStats());
  h.viewInstalled(context(2, view(2, [2])).ctx, view(1, [1, 2, 3]), true);
  h.applied(record('a', 'x'.repeat(50)));
  assert.deepEqual(h.bufferStats(), {
    missedBufferKeys: 0,
    missedBufferBytes: 0,
    buffersOverflowed: 2,
    bufferedFor: 2,
    earlyHandoffItems: 0,
  });
});

test('no Buddy (every other member a shadow), or nothing to hand over: no handoff message', () => {
  const h = new Handoffs(0, 1000, NO_FAULTS, newStats());
  const noBuddy = context(0, view(2, [0, 2], [0, 2]), [record('a')]);
  h.viewInstalled(noBuddy.ctx, view(1, [0, 1, 2]), true);
  assert.deepEqual(noBuddy.sent, []);
  const nothing = context(0, view(2, [0, 2, 3]), []);
  new Handoffs(0, 1000, NO_FAULTS, newStats()).viewInstalled(
    nothing.ctx,
    view(1, [0, 1, 2, 3]),
    true,
  );
  assert.deepEqual(nothing.sent, [], 'no writes without DP: no empty handoff');
});

test('a handoff of a later view for a failure whose buffer is closed waits for that view, which reopens the buffer', () => {
  const h = new Handoffs(2, 1000, NO_FAULTS, newStats());
  const held = [record('a'), record('b')];
  h.viewInstalled(context(2, view(2, [0, 2, 3]), [], held).ctx, view(1, [0, 1, 2, 3]), true);
  const readmit: View = {
    epoch: 3,
    members: [
      { id: 0, incarnation: 0 },
      { id: 1, incarnation: 1 },
      { id: 2, incarnation: 0 },
      { id: 3, incarnation: 0 },
    ],
    shadows: [1],
  };
  h.viewInstalled(context(2, readmit, [], held).ctx, view(2, [0, 2, 3]), true);
  const buffer = h.buffer(1);
  assert.ok(buffer && !buffer.open);
  // 1 fails again; a handoff of view 4 arrives before view 4 is installed here
  const at3 = context(2, readmit, [], held);
  h.onHandoff(at3.ctx, {
    kind: 'heal-handoff',
    epoch: 4,
    sender: 0,
    failed: 1,
    items: [{ key: 'a', version: 1, cid: 0, origin: 0, seq: 1 }],
  });
  assert.equal(buffer.keys, 0, 'not taken into the closed buffer');
  h.viewInstalled(context(2, view(4, [0, 2, 3]), [], held).ctx, readmit, true);
  assert.equal(h.buffer(1), buffer);
  assert.deepEqual([...buffer.keyList()], ['a'], 'taken once view 4 reopened the buffer');
});

test('a replica that fails mid-recovery and is re-admitted in the same view: its closed buffer takes the handoffs', () => {
  const stats = newStats();
  const h = new Handoffs(2, 1000, NO_FAULTS, stats);
  const held = [record('a'), record('b'), record('c')];
  h.viewInstalled(context(2, view(2, [0, 2, 3]), [], held).ctx, view(1, [0, 1, 2, 3]), true);
  const readmit: View = {
    epoch: 3,
    members: [
      { id: 0, incarnation: 0 },
      { id: 1, incarnation: 1 },
      { id: 2, incarnation: 0 },
      { id: 3, incarnation: 0 },
    ],
    shadows: [1],
  };
  h.viewInstalled(context(2, readmit, [], held).ctx, view(2, [0, 2, 3]), true);
  const buffer = h.buffer(1);
  assert.ok(buffer && !buffer.open);
  // Incarnation 1 took 'a' and 'b' as a shadow, held them in memory only, and crashed; view 4
  // admits incarnation 2 at once. The Buddy's own write not at DP ('a') and another member's
  // handoff ('b') must reach the buffer its recovery will select from.
  const again: View = {
    epoch: 4,
    members: readmit.members.map((m) => (m.id === 1 ? { id: 1, incarnation: 2 } : m)),
    shadows: [1],
  };
  const at = context(2, again, [record('a')], held);
  h.viewInstalled(at.ctx, readmit, true);
  assert.equal(
    h.buffer(1),
    buffer,
    'the same buffer: what incarnation 2 lacks includes the first gap',
  );
  h.onHandoff(at.ctx, {
    kind: 'heal-handoff',
    epoch: 4,
    sender: 0,
    failed: 1,
    items: [{ key: 'b', version: 1, cid: 0, origin: 0, seq: 1 }],
  });
  assert.deepEqual([...buffer.keyList()].sort(), ['a', 'b']);
  assert.equal(buffer.open, false, 'writes applied from now on reach the member itself');
  h.applied(record('c'));
  assert.deepEqual([...buffer.keyList()].sort(), ['a', 'b']);
});

test('early handoffs of one failure, in any order, wait for the latest view they were sent in', () => {
  // 1 fails twice in views this replica skips: handoffs of views 3 and 5 (5 first, or 3 first)
  for (const epochs of [
    [3, 5],
    [5, 3],
  ]) {
    const stats = newStats();
    const h = new Handoffs(2, 1000, NO_FAULTS, stats);
    const held = [record('a'), record('b')];
    const v2 = view(2, [0, 1, 2]);
    const at = context(2, v2, [], held);
    epochs.forEach((epoch, i) =>
      h.onHandoff(at.ctx, {
        kind: 'heal-handoff',
        epoch,
        sender: 0,
        failed: 1,
        items: [{ key: i === 0 ? 'a' : 'b', version: 1, cid: 0, origin: 0, seq: 1 }],
      }),
    );
    // view 4 still has 1: the handoffs of view 5 are not for it yet
    h.viewInstalled(context(2, view(4, [0, 1, 2]), [], held).ctx, v2, true);
    assert.equal(h.bufferStats().earlyHandoffItems, 2, `${epochs.join(',')}: kept`);
    h.viewInstalled(context(2, view(5, [0, 2]), [], held).ctx, view(4, [0, 1, 2]), true);
    assert.deepEqual(
      [...(h.buffer(1)?.keyList() ?? [])].sort(),
      ['a', 'b'],
      `${epochs.join(',')}: taken`,
    );
    assert.equal(stats.handoffItemsDropped, 0);
  }
});
