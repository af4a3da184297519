import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '@heal/base';
import { BucketDigest, DIGEST_BUCKETS_DEFAULT } from '../src/digest/bucket-digest.js';
import type { Ts } from '../src/protocol/timestamp.js';

/** A seeded uniform [0, 1) generator, so a failing case replays from its seed. */
function prng(seed: number): () => number {
  const random = new Prng(seed);
  return () => random.float();
}

function allNodes(d: BucketDigest): string[][] {
  const levels: string[][] = [];
  let indices = [0];
  for (let level = 0; level < d.levels; level++) {
    levels.push(d.nodes(level, indices));
    if (level < d.levels - 1) indices = indices.flatMap((i) => d.childrenOf(level, i));
  }
  return levels;
}

test('an empty digest has a fixed root, and adding then removing a pair returns to it', () => {
  const a = new BucketDigest();
  const b = new BucketDigest();
  assert.match(a.root(), /^[0-9a-f]{16}$/);
  assert.equal(a.root(), b.root());
  a.update('k', undefined, { version: 1, cid: 2 });
  assert.notEqual(a.root(), b.root());
  a.update('k', { version: 1, cid: 2 }, undefined);
  assert.equal(a.root(), b.root());
  assert.deepEqual(allNodes(a), allNodes(b));
});

test('the default digest has 4096 buckets under a 16-ary tree of 4 levels', () => {
  const d = new BucketDigest();
  assert.equal(d.buckets, DIGEST_BUCKETS_DEFAULT);
  assert.equal(d.levels, 4);
  assert.deepEqual(
    d.childrenOf(0, 0),
    Array.from({ length: 16 }, (_, i) => i),
  );
  assert.deepEqual(
    d.childrenOf(2, 255),
    Array.from({ length: 16 }, (_, i) => 4080 + i),
  );
  assert.equal(d.nodes(3, [0, 4095]).length, 2);
});

test('a bucket count that is not a power of the fanout gives a partial last node', () => {
  const d = new BucketDigest(32, 12);
  assert.equal(d.levels, 3);
  assert.deepEqual(d.childrenOf(0, 0), [0, 1, 2]);
  assert.deepEqual(d.childrenOf(1, 2), [24, 25, 26, 27, 28, 29, 30, 31]);
  const single = new BucketDigest(1, 2);
  assert.equal(single.levels, 1);
  assert.equal(single.bucketOf('anything'), 0);
});

test('bad shapes, levels and indices are rejected with errors naming them', () => {
  assert.throws(() => new BucketDigest(3000), /buckets must be a power of two.*3000/);
  assert.throws(() => new BucketDigest(0), /buckets must be a power of two/);
  assert.throws(() => new BucketDigest(16, 1), /fanout must be an integer >= 2, got 1/);
  const d = new BucketDigest(256, 16);
  assert.throws(() => d.nodes(3, [0]), /level must be an integer in 0\.\.2, got 3/);
  assert.throws(() => d.nodes(1, [16]), /index at level 1 must be an integer in 0\.\.15, got 16/);
  assert.throws(() => d.childrenOf(2, 0), /bucket level/);
  assert.throws(() => d.update('k', undefined, { version: -1, cid: 0 }), /ts\.version/);
  assert.throws(() => d.update('k', undefined, { version: 1, cid: 1.5 }), /ts\.cid/);
});

test('an update with the same ts before and after is a no-op', () => {
  const d = new BucketDigest(64, 4);
  d.update('k', undefined, { version: 3, cid: 1 });
  const before = allNodes(d);
  d.update('k', { version: 3, cid: 1 }, { version: 3, cid: 1 });
  d.update('absent', undefined, undefined);
  assert.deepEqual(allNodes(d), before);
});

test('an update changes exactly its bucket and that bucket’s ancestors', () => {
  const d = new BucketDigest(256, 4); // levels of 1, 4, 16, 64, 256 nodes
  for (let i = 0; i < 500; i++) d.update(`key-${i}`, undefined, { version: 1, cid: i % 3 });
  const before = allNodes(d);
  const bucket = d.bucketOf('key-7');
  d.update('key-7', { version: 1, cid: 7 % 3 }, { version: 2, cid: 0 });
  const after = allNodes(d);
  for (let level = 0; level < d.levels; level++) {
    const ancestor = Math.floor(bucket / 4 ** (d.levels - 1 - level));
    after[level]!.forEach((hash, index) => {
      if (index === ancestor)
        assert.notEqual(hash, before[level]![index], `level ${level} node ${index}`);
      else assert.equal(hash, before[level]![index], `level ${level} node ${index}`);
    });
  }
});

test('the pair hash depends on the key, the version and the cid', () => {
  const roots = new Set<string>();
  const cases: [string, Ts][] = [
    ['k', { version: 1, cid: 1 }],
    ['k', { version: 2, cid: 1 }],
    ['k', { version: 1, cid: 2 }],
    ['k', { version: 2 ** 32 + 1, cid: 1 }],
    ['K', { version: 1, cid: 1 }],
  ];
  for (const [key, ts] of cases) {
    const d = new BucketDigest(1, 2); // one bucket: only the pair hash can tell them apart
    d.update(key, undefined, ts);
    roots.add(d.root());
  }
  assert.equal(roots.size, cases.length);
});

test('the same (key, ts) set gives the same tree whatever the order and history of updates', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const random = prng(seed);
    const final = new Map<string, Ts>();
    for (let i = 0; i < 300; i++) {
      const ts = { version: 1 + Math.floor(random() * 5), cid: Math.floor(random() * 4) };
      final.set(`k${Math.floor(random() * 1e9)}`, ts);
    }
    const replicas = [new BucketDigest(512, 8), new BucketDigest(512, 8), new BucketDigest(512, 8)];
    for (const d of replicas) {
      // Each key walks through its own random intermediate states (absence included) to its
      // final ts; the keys' walks interleave in a random order of this replica's own.
      const walks = [...final].map(([key, ts]) => {
        const states: (Ts | undefined)[] = [];
        for (let v = 1; v < ts.version; v++) {
          states.push(random() < 0.2 ? undefined : { version: v, cid: Math.floor(random() * 4) });
        }
        states.push(ts);
        return { key, states, held: undefined as Ts | undefined };
      });
      while (walks.length > 0) {
        const i = Math.floor(random() * walks.length);
        const walk = walks[i]!;
        const next = walk.states.shift();
        d.update(walk.key, walk.held, next);
        walk.held = next;
        if (random() < 0.05) {
          // Reading an ancestor mid-way cleans part of the tree; later updates must re-dirty it.
          const level = Math.floor(random() * d.levels);
          d.nodes(level, [Math.floor(d.bucketOf(walk.key) / 8 ** (d.levels - 1 - level))]);
        }
        if (walk.states.length === 0) walks.splice(i, 1);
      }
    }
    assert.deepEqual(allNodes(replicas[1]!), allNodes(replicas[0]!), `seed=${seed}`);
    assert.deepEqual(allNodes(replicas[2]!), allNodes(replicas[0]!), `seed=${seed}`);
    const direct = new BucketDigest(512, 8);
    for (const [key, ts] of final) direct.update(key, undefined, ts);
    assert.equal(direct.root(), replicas[0]!.root(), `seed=${seed}`);
  }
});

test('bucketOf spreads keys evenly over the buckets', () => {
  const d = new BucketDigest();
  const load = new Uint32Array(d.buckets);
  const keys = 16 * d.buckets; // 16 per bucket on average
  for (let i = 0; i < keys; i++) load[d.bucketOf(`user${i}`)]!++;
  // For a uniform hash, a bucket above 45 (mean 16, sd 4) or an empty one is vanishingly rare.
  assert.ok(Math.max(...load) <= 45, `fullest bucket holds ${Math.max(...load)}`);
  assert.ok(Math.min(...load) >= 1, 'no bucket is empty');
  assert.equal(d.bucketOf('user1'), new BucketDigest().bucketOf('user1'));
});

test('bucket lanes summed from elements, assigned to a digest, give the digest of the pairs', () => {
  const random = prng(7);
  const updated = new BucketDigest(64, 4);
  const sums = new Uint32Array(2 * 64);
  for (let i = 0; i < 500; i++) {
    const key = `key${Math.floor(random() * 300)}`;
    const ts = { version: Math.floor(random() * 2 ** 40), cid: Math.floor(random() * 2 ** 32) };
    updated.update(key, undefined, ts);
    const e = updated.element(key, ts);
    assert.equal(e.bucket, updated.bucketOf(key));
    sums[2 * e.bucket] = (sums[2 * e.bucket] as number) + e.lane0;
    sums[2 * e.bucket + 1] = (sums[2 * e.bucket + 1] as number) + e.lane1;
  }
  assert.deepEqual(updated.bucketLanes(), sums);
  const assigned = new BucketDigest(64, 4);
  assigned.root(); // computed once before: assigning must mark every node stale
  assigned.assignBucketLanes(sums);
  assert.deepEqual(allNodes(assigned), allNodes(updated));
  assert.throws(
    () => assigned.assignBucketLanes(new Uint32Array(64)),
    /bucket lanes must be a Uint32Array of 128 \(2 per bucket\), got 64/,
  );
});
