import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Ts } from '@heal/kv/replica';
import { MerkleDescent } from '../src/digest/merkle-descent.js';
import {
  BuddyDescent,
  HEAL_DESCENT_KEYS_MAX,
  HEAL_PARALLEL_MIN_KEYS,
  HEAL_PARALLEL_SOURCES,
} from '../src/heal-descent.js';
import { healFaults } from '../src/heal-faults.js';
import {
  HEAL_KEYS_MAX_ENTRIES,
  type HealKeysMsg,
  type HealNodesMsg,
} from '../src/heal-messages.js';
import { servingSession } from '../src/heal-serving.js';
import { BUDDY, JOINER, keyOf, Net, rec, type Node } from './heal-session-harness.js';

/**
 * The Buddy's descent driver (BuddyDescent) on its own: a session driven by hand-made joiner
 * answers, the Buddy's records in a harness node, and the selection it streams recorded.
 */

const SESSION = 7;

/** The Buddy (node 2 of four, holding `keys` keys) and a descent session serving node 1. */
function buddyWith(keys: number) {
  const net = new Net(4);
  const node = net.nodes[BUDDY] as Node;
  for (let i = 0; i < keys; i++) node.write(rec(keyOf(i), 1, i + 1));
  const streamed: string[][] = [];
  const descent = new BuddyDescent({
    self: BUDDY,
    digest: node.digest,
    faults: healFaults({}),
    stats: { descentRounds: 0, selectedKeys: 0 },
    stream: (_ctx, _s, selected) => {
      streamed.push(selected);
    },
  });
  const s = servingSession(node.ctx, JOINER, SESSION, net.view.epoch, false, 'descent');
  return { net, node, descent, s, streamed };
}

/** `s` asks the joiner for its keys of the buckets holding `keys` keys (attempt 1). */
function askKeys(b: ReturnType<typeof buddyWith>, keys: number): void {
  const buckets = new Set(Array.from({ length: keys }, (_, i) => b.node.digest.bucketOf(keyOf(i))));
  b.s.phase = 'keys';
  b.s.buckets = [...buckets];
  b.descent.requestKeys(b.node.ctx, b.s);
  b.net.queue.length = 0;
}

function keysMsg(
  attempt: number,
  part: number,
  last: boolean,
  entries: HealKeysMsg['entries'] = [],
): HealKeysMsg {
  return {
    kind: 'heal-keys',
    epoch: 1,
    sender: JOINER,
    session: SESSION,
    attempt,
    part,
    last,
    entries,
  };
}

// Mutants: heal-descent.ts #14 #16.
test('a descent that finds no differing bucket selects nothing at once, asking for no keys', () => {
  const b = buddyWith(20);
  b.s.descent = new MerkleDescent(b.node.digest, b.node.digest.root());
  b.descent.descend(b.node.ctx, b.s);
  assert.equal(b.s.phase, 'stream');
  assert.deepEqual(b.streamed, [[]]);
  assert.equal(b.net.queue.length, 0);
});

// Mutant: heal-descent.ts #24.
test('tree hashes for a session with no descent (buffer mode) are ignored', () => {
  const b = buddyWith(4);
  const s = servingSession(b.node.ctx, JOINER, SESSION, 1, false, 'buffer');
  const nodes: HealNodesMsg = {
    kind: 'heal-nodes',
    epoch: 1,
    sender: JOINER,
    session: SESSION,
    level: 0,
    indices: [0],
    hashes: [b.node.digest.root()],
  };
  b.descent.onNodes(b.node.ctx, s, nodes);
  assert.deepEqual([s.phase, b.net.queue.length, b.streamed.length], ['stream', 0, 0]);
});

// Mutants: heal-descent.ts #34 #35 #36 #37 #38 #41 #43 #52 #54 #57.
test('the Buddy selects once every part of the current keys attempt is in, in any order; stale and late parts change nothing', () => {
  const b = buddyWith(10);
  askKeys(b, 10);
  b.descent.requestKeys(b.node.ctx, b.s); // asked again: attempt 2
  const { ctx } = b.node;
  // the joiner holds k0 and k1 as new as the Buddy
  const held = [0, 1].map((i) => ({ key: keyOf(i), version: 1, cid: 0 }));
  b.descent.onKeys(ctx, b.s, keysMsg(1, 0, true, held)); // an answer to attempt 1
  b.descent.onKeys(ctx, b.s, keysMsg(2, 0, false, held.slice(0, 1)));
  b.descent.onKeys(ctx, b.s, keysMsg(2, 2, true));
  assert.deepEqual(b.streamed, [], 'part 1 is missing');
  b.descent.onKeys(ctx, b.s, keysMsg(2, 1, false, held.slice(1)));
  const newer = Array.from({ length: 8 }, (_, i) => keyOf(i + 2));
  assert.deepEqual(b.streamed, [newer]);
  assert.equal(b.s.phase, 'stream');
  // late parts, of this attempt or an older one, change nothing once selected
  b.descent.onKeys(ctx, b.s, keysMsg(2, 3, true));
  b.descent.onKeys(ctx, b.s, keysMsg(1, 1, true));
  assert.deepEqual(b.streamed, [newer]);
});

/** A stand-in for keys collected so far: a map reporting `held` entries. */
class Collected extends Map<string, Ts> {
  constructor(readonly held: number) {
    super();
  }
  override get size(): number {
    return this.held;
  }
}

// Mutants: heal-descent.ts #45 #47 #49.
test('the Buddy collects at most HEAL_DESCENT_KEYS_MAX keys of the joiner', () => {
  const b = buddyWith(1);
  askKeys(b, 1);
  const one = [{ key: keyOf(0), version: 1, cid: 0 }];
  b.s.remote = new Collected(HEAL_DESCENT_KEYS_MAX - 1);
  b.descent.onKeys(b.node.ctx, b.s, keysMsg(1, 0, false, one));
  b.s.remote = new Collected(HEAL_DESCENT_KEYS_MAX);
  assert.throws(
    () => b.descent.onKeys(b.node.ctx, b.s, keysMsg(1, 1, false, one)),
    /collects over 50000000 keys/,
  );
});

/** The Buddy's selection of `keys` keys, all newer than the joiner's (which holds none). */
function selectAll(keys: number) {
  const b = buddyWith(keys);
  askKeys(b, keys);
  b.descent.onKeys(b.node.ctx, b.s, keysMsg(1, 0, true));
  return b;
}

// Mutant: heal-descent.ts #65.
test('a selection of exactly HEAL_PARALLEL_MIN_KEYS keys is streamed by the Buddy and helpers', () => {
  const b = selectAll(HEAL_PARALLEL_MIN_KEYS);
  assert.equal(b.s.sources, HEAL_PARALLEL_SOURCES);
  assert.deepEqual(
    b.s.assists.map((a) => a.to),
    [0, 3],
  );
  assert.equal(b.streamed[0]?.length, Math.ceil(HEAL_PARALLEL_MIN_KEYS / HEAL_PARALLEL_SOURCES));
});

// Mutants: heal-descent.ts #77 #88 #89.
test("a helper's slice of more than HEAL_KEYS_MAX_ENTRIES keys is assigned in chunks that split it exactly", () => {
  const keys = HEAL_PARALLEL_SOURCES * HEAL_KEYS_MAX_ENTRIES + HEAL_PARALLEL_SOURCES;
  const b = selectAll(keys);
  const slice = HEAL_KEYS_MAX_ENTRIES + 1;
  const buddySlice = b.streamed[0] ?? [];
  assert.equal(buddySlice.length, slice);
  const assigned = b.s.assists.map((a) => [a.to, a.msg.chunk, a.msg.chunks, a.msg.keys.length]);
  assert.deepEqual(assigned, [
    [0, 0, 2, HEAL_KEYS_MAX_ENTRIES],
    [0, 1, 2, 1],
    [3, 0, 2, HEAL_KEYS_MAX_ENTRIES],
    [3, 1, 2, 1],
  ]);
  const all = [...buddySlice, ...b.s.assists.flatMap((a) => a.msg.keys)];
  assert.equal(all.length, keys);
  assert.deepEqual(new Set(all), new Set(Array.from({ length: keys }, (_, i) => keyOf(i))));
  assert.equal(
    b.net.queue.filter((q) => q.msg.kind === 'heal-assist').length,
    4,
    'every chunk is sent',
  );
});
