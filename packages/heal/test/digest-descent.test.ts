import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BucketDigest, type Ts } from '@heal/kv';
import {
  DESCENT_NODES_MAX,
  keysInBuckets,
  MerkleDescent,
  newerAt,
} from '../src/digest/merkle-descent.js';
import { seededRandom as prng } from './seeded-random.js';

function digestOf(store: ReadonlyMap<string, Ts>, buckets: number, fanout: number): BucketDigest {
  const d = new BucketDigest(buckets, fanout);
  for (const [key, ts] of store) d.update(key, undefined, ts);
  return d;
}

function records(store: ReadonlyMap<string, Ts>): { key: string; ts: Ts }[] {
  return [...store].map(([key, ts]) => ({ key, ts }));
}

/** Runs a descent to the end against `remote`, checking every request's bound. */
function descend(local: BucketDigest, remote: BucketDigest, nodesMax?: number): MerkleDescent {
  const descent =
    nodesMax === undefined
      ? new MerkleDescent(local, remote.root())
      : new MerkleDescent(local, remote.root(), nodesMax);
  for (let request = descent.next(); request !== undefined; request = descent.next()) {
    const { level, indices } = request;
    assert.ok(indices.length >= 1 && indices.length <= (nodesMax ?? DESCENT_NODES_MAX));
    assert.equal(descent.onRemote(level, indices, remote.nodes(level, indices)), true);
    assert.ok(descent.rounds <= 10_000, 'the descent terminates');
  }
  assert.equal(descent.done, true);
  return descent;
}

type Change = 'remote lacks' | 'local lacks' | 'local newer' | 'remote newer';
const CHANGES: readonly Change[] = ['remote lacks', 'local lacks', 'local newer', 'remote newer'];

function randomTs(random: () => number): Ts {
  return { version: 1 + Math.floor(random() * 10), cid: Math.floor(random() * 5) };
}

/** Two stores equal but for `k` random keys, each changed one random way. */
function divergedStores(random: () => number, size: number, k: number) {
  const base = new Map<string, Ts>();
  while (base.size < size) base.set(`key-${Math.floor(random() * 1e9)}`, randomTs(random));
  const local = new Map(base);
  const remote = new Map(base);
  const changed = new Map<string, Change>();
  const baseKeys = [...base.keys()];
  while (changed.size < k) {
    const change = CHANGES[Math.floor(random() * CHANGES.length)]!;
    const key =
      random() < 0.3
        ? `new-${Math.floor(random() * 1e9)}`
        : baseKeys[Math.floor(random() * baseKeys.length)]!;
    if (changed.has(key)) continue;
    const older = base.get(key) ?? randomTs(random);
    // Newer by version or, at the same version, by cid (the second field of the order).
    const newer =
      random() < 0.5
        ? { version: older.version + 1, cid: 0 }
        : { version: older.version, cid: older.cid + 1 };
    if (change === 'remote lacks') {
      local.set(key, older);
      remote.delete(key);
    }
    if (change === 'local lacks') {
      remote.set(key, older);
      local.delete(key);
    }
    if (change === 'local newer') {
      local.set(key, newer);
      remote.set(key, older);
    }
    if (change === 'remote newer') {
      remote.set(key, newer);
      local.set(key, older);
    }
    changed.set(key, change);
  }
  return { local, remote, changed };
}

test('a descent between equal digests needs no request and finds no bucket', () => {
  const store = new Map<string, Ts>([
    ['a', { version: 1, cid: 0 }],
    ['b', { version: 2, cid: 1 }],
  ]);
  const descent = new MerkleDescent(digestOf(store, 4096, 16), digestOf(store, 4096, 16).root());
  assert.equal(descent.next(), undefined);
  assert.equal(descent.rounds, 0);
  assert.deepEqual(descent.differingBuckets, []);
});

test('a descent finds exactly the differing keys’ buckets, and newerAt exactly the keys to send', () => {
  const shapes: [number, number][] = [
    [4096, 16],
    [256, 4],
    [64, 2],
    [1024, 32],
  ];
  for (let seed = 1; seed <= 120; seed++) {
    const random = prng(seed);
    const [buckets, fanout] = shapes[seed % shapes.length]!;
    const k = seed % 7 === 0 ? 0 : 1 + Math.floor(random() * 40);
    const { local, remote, changed } = divergedStores(random, 200 + Math.floor(random() * 1500), k);
    const localDigest = digestOf(local, buckets, fanout);
    const remoteDigest = digestOf(remote, buckets, fanout);
    const descent = descend(localDigest, remoteDigest);

    const expectedBuckets = [
      ...new Set([...changed.keys()].map((key) => localDigest.bucketOf(key))),
    ];
    assert.deepEqual(
      descent.differingBuckets,
      expectedBuckets.sort((a, b) => a - b),
      `seed=${seed}`,
    );
    const levelsBelowRoot = k === 0 ? 0 : localDigest.levels - 1;
    assert.equal(descent.rounds, levelsBelowRoot, `seed=${seed}: one request per level`);

    const inBuckets = new Set(descent.differingBuckets);
    const send = newerAt(
      keysInBuckets(records(local), localDigest, inBuckets),
      keysInBuckets(records(remote), remoteDigest, inBuckets),
    );
    const expectedSend = [...changed]
      .filter(([, change]) => change === 'remote lacks' || change === 'local newer')
      .map(([key]) => key);
    assert.deepEqual(send.sort(), expectedSend.sort(), `seed=${seed}`);
  }
});

test('requests are batched to the node bound and the result does not depend on it', () => {
  const random = prng(99);
  const { local, remote } = divergedStores(random, 3000, 60);
  const localDigest = digestOf(local, 1024, 8); // levels of 1, 8, 64, 512, 1024 nodes
  const remoteDigest = digestOf(remote, 1024, 8);
  const unbounded = descend(localDigest, remoteDigest);
  const nodesMax = 5;
  const batched = descend(localDigest, remoteDigest, nodesMax);
  assert.deepEqual(batched.differingBuckets, unbounded.differingBuckets);
  // Replay the batched descent's levels: each level's differing parents' children, in batches.
  let expectedRounds = 0;
  let differing = [0];
  for (let level = 0; level < localDigest.levels - 1; level++) {
    const children = differing.flatMap((i) => localDigest.childrenOf(level, i));
    expectedRounds += Math.ceil(children.length / nodesMax);
    const localHashes = localDigest.nodes(level + 1, children);
    const remoteHashes = remoteDigest.nodes(level + 1, children);
    differing = children.filter((_, i) => localHashes[i] !== remoteHashes[i]);
  }
  assert.ok(expectedRounds > unbounded.rounds);
  assert.equal(batched.rounds, expectedRounds);
});

test('next repeats the outstanding request, and a stale answer is ignored', () => {
  const local = digestOf(new Map([['a', { version: 1, cid: 0 }]]), 256, 16);
  const remote = digestOf(new Map([['a', { version: 2, cid: 0 }]]), 256, 16);
  const descent = new MerkleDescent(local, remote.root());
  const first = descent.next()!;
  assert.deepEqual(descent.next(), first);
  assert.equal(first.level, 1);
  assert.equal(descent.onRemote(2, first.indices, remote.nodes(1, first.indices)), false);
  assert.equal(
    descent.onRemote(1, first.indices.slice(1), remote.nodes(1, first.indices.slice(1))),
    false,
  );
  // Answers of the right level for the nodes in another order, or for only some of them.
  const swapped = [...first.indices.slice(0, -2), first.indices.at(-1)!, first.indices.at(-2)!];
  const prefix = first.indices.slice(0, -1);
  for (const indices of [swapped, prefix]) {
    assert.equal(descent.onRemote(1, indices, remote.nodes(1, indices)), false);
  }
  assert.deepEqual(descent.next(), first);
  assert.equal(descent.rounds, 0);
  assert.equal(descent.onRemote(1, first.indices, remote.nodes(1, first.indices)), true);
  assert.equal(
    descent.onRemote(1, first.indices, remote.nodes(1, first.indices)),
    false,
    'a duplicate answer',
  );
  const second = descent.next()!;
  assert.equal(second.level, 2);
  assert.throws(() => descent.differingBuckets, /only when the descent is done/);
  descent.onRemote(2, second.indices, remote.nodes(2, second.indices));
  assert.deepEqual(descent.differingBuckets, [local.bucketOf('a')]);
  assert.equal(descent.next(), undefined);
  assert.equal(
    descent.onRemote(2, second.indices, remote.nodes(2, second.indices)),
    false,
    'an answer once the descent is done',
  );
  assert.equal(descent.rounds, 2);
  assert.deepEqual(descent.differingBuckets, [local.bucketOf('a')]);
});

test('a bound of one node per request asks for the nodes one at a time', () => {
  const random = prng(7);
  const { local, remote } = divergedStores(random, 300, 3);
  const localDigest = digestOf(local, 64, 4);
  const remoteDigest = digestOf(remote, 64, 4);
  const unbounded = descend(localDigest, remoteDigest);
  const single = descend(localDigest, remoteDigest, 1);
  assert.deepEqual(single.differingBuckets, unbounded.differingBuckets);
  assert.ok(single.rounds > unbounded.rounds);
});

test('malformed remote hashes are rejected with errors naming them', () => {
  const local = digestOf(new Map([['a', { version: 1, cid: 0 }]]), 256, 16);
  const remote = new BucketDigest(256, 16);
  assert.throws(
    () => new MerkleDescent(local, 'XYZ'),
    /remoteRoot must be 16 lowercase hex characters, got "XYZ"/,
  );
  assert.throws(
    () => new MerkleDescent(local, remote.root(), 0),
    /requestNodesMax must be a positive integer/,
  );
  const descent = new MerkleDescent(local, remote.root());
  const { level, indices } = descent.next()!;
  assert.throws(() => descent.onRemote(level, indices, []), /has 0 hashes for 16 nodes/);
  const hashes = remote.nodes(level, indices);
  hashes[3] = hashes[3]!.toUpperCase() + '0';
  assert.throws(
    () => descent.onRemote(level, indices, hashes),
    /hash of node 3 at level 1 must be 16 lowercase hex/,
  );
  assert.equal(descent.rounds, 0);
});

test('a one-bucket digest is compared by its root alone', () => {
  const local = digestOf(new Map([['a', { version: 1, cid: 0 }]]), 1, 2);
  const descent = new MerkleDescent(local, new BucketDigest(1, 2).root());
  assert.equal(descent.next(), undefined);
  assert.deepEqual(descent.differingBuckets, [0]);
});

test('keysInBuckets selects the records of the given buckets only', () => {
  const digest = new BucketDigest(16, 4);
  const store = new Map<string, Ts>();
  for (let i = 0; i < 200; i++) store.set(`k${i}`, { version: i, cid: 1 });
  const selected = keysInBuckets(records(store), digest, new Set([3, 9]));
  const expected = [...store].filter(([key]) => [3, 9].includes(digest.bucketOf(key)));
  assert.ok(expected.length > 0);
  assert.deepEqual([...selected], expected);
  const twice = [
    { key: 'k1', ts: { version: 1, cid: 0 } },
    { key: 'k1', ts: { version: 2, cid: 0 } },
  ];
  assert.throws(
    () => keysInBuckets(twice, digest, new Set([digest.bucketOf('k1')])),
    /"k1" appears in two records/,
  );
});

test('newerAt returns the keys local holds newer, or remote lacks', () => {
  const local = new Map<string, Ts>([
    ['equal', { version: 2, cid: 1 }],
    ['newer version', { version: 3, cid: 0 }],
    ['newer cid', { version: 2, cid: 2 }],
    ['older', { version: 1, cid: 5 }],
    ['remote lacks', { version: 1, cid: 0 }],
  ]);
  const remote = new Map<string, Ts>([
    ['equal', { version: 2, cid: 1 }],
    ['newer version', { version: 2, cid: 9 }],
    ['newer cid', { version: 2, cid: 1 }],
    ['older', { version: 2, cid: 0 }],
    ['local lacks', { version: 7, cid: 0 }],
  ]);
  assert.deepEqual(newerAt(local, remote), ['newer version', 'newer cid', 'remote lacks']);
});
