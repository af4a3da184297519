import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Prng } from '@heal/base';
import {
  createWorkload,
  fnvhash64,
  MAX_KEYS,
  SCRAMBLED_ZETAN,
  ScrambledZipfianGenerator,
  TAOBENCH_WORKLOAD_O,
  TaobenchWorkload,
  WeightedChoice,
  WORKLOAD_NAMES,
  zeta,
  ZipfianGenerator,
  type Workload,
  type WorkloadOp,
} from '../src/workloads/index.js';

const OPS = 200_000;
const KEYS = 100_000;

/** A seeded uniform [0, 1) source, as the load generators pass to `next`. */
function seeded(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.float();
}

function run(workload: Workload, ops: number, seed: number): WorkloadOp[] {
  const random = seeded(seed);
  return Array.from({ length: ops }, () => workload.next(random));
}

/** How often each value in [0, range) was drawn. */
function countDraws(draws: number[], range: number): Uint32Array {
  const counts = new Uint32Array(range);
  for (const d of draws) counts[d]++;
  return counts;
}

/** Share of `draws` that fall on the `top` most frequent values. */
function topShare(draws: number[], range: number, top: number): number {
  const sorted = countDraws(draws, range).sort().reverse();
  return sorted.subarray(0, top).reduce((sum, c) => sum + c, 0) / draws.length;
}

/** The `top` most frequent values. */
function hottest(draws: number[], range: number, top: number): number[] {
  const counts = countDraws(draws, range);
  const values = Array.from(counts.keys()).sort((a, b) => counts[b] - counts[a]);
  return values.slice(0, top);
}

describe('workload mixes', () => {
  const expectedReads: Record<string, number> = {
    // readproportion in YCSB workloads/workloada, b, c, f.
    'ycsb-a': 0.5,
    'ycsb-b': 0.95,
    'ycsb-c': 1,
    'ycsb-f': 0.5,
    // Workload O with transactions split into operations: 99.81% gets.
    taobench: 0.9981,
  };
  for (const name of WORKLOAD_NAMES) {
    test(`${name}: gets are within 0.5% of the spec, keys in range, writes sized`, () => {
      const workload = createWorkload(name, { keys: KEYS });
      assert.ok(Math.abs(workload.readRatio - expectedReads[name]) < 1e-4);
      const ops = run(workload, OPS, 7);
      const gets = ops.filter((op) => op.kind === 'get').length / OPS;
      assert.ok(Math.abs(gets - workload.readRatio) < 0.005, `${name}: gets ${gets}`);
      const writeBytes = name === 'taobench' ? 150 : 100;
      const writeKind = name === 'ycsb-f' ? 'rmw' : 'put';
      const inRange = (op: WorkloadOp): boolean =>
        Number.isInteger(op.key) && op.key >= 0 && op.key < KEYS;
      const sized = (op: WorkloadOp): boolean =>
        op.kind === 'get'
          ? op.valueBytes === 0
          : op.kind === writeKind && op.valueBytes === writeBytes;
      assert.equal(
        ops.find((op) => !inRange(op) || !sized(op)),
        undefined,
      );
    });
  }

  test('the same seed gives the same sequence, another seed another', () => {
    for (const name of WORKLOAD_NAMES) {
      const a = run(createWorkload(name, { keys: KEYS }), 5_000, 11);
      const b = run(createWorkload(name, { keys: KEYS }), 5_000, 11);
      const c = run(createWorkload(name, { keys: KEYS }), 5_000, 12);
      assert.deepEqual(a, b, name);
      assert.notDeepEqual(a, c, name);
    }
  });

  test('valueBytes overrides the default size of every write and of the dataset', () => {
    for (const name of WORKLOAD_NAMES.filter((n) => n !== 'ycsb-c')) {
      const workload = createWorkload(name, { keys: 1000, valueBytes: 64 });
      assert.equal(workload.datasetValueBytes(999), 64);
      const writes = run(workload, 20_000, 3).filter((op) => op.kind !== 'get');
      assert.ok(writes.length > 0 && writes.every((op) => op.valueBytes === 64), name);
    }
  });

  test('10M keys: every key drawn is in range', () => {
    for (const name of WORKLOAD_NAMES) {
      const workload = createWorkload(name, { keys: 10_000_000 });
      const outside = run(workload, 10_000, 5).filter((op) => op.key < 0 || op.key >= 10_000_000);
      assert.deepEqual(outside, []);
    }
  });
});

describe('zipfian', () => {
  test('zeta matches exact summation and YCSB precomputed zeta(10^10)', () => {
    let exact = 0;
    for (let i = 1; i <= 1_000_000; i++) exact += 1 / Math.pow(i, 0.99);
    assert.ok(Math.abs(zeta(1_000_000, 0.99) - exact) < 1e-9);
    assert.ok(Math.abs(zeta(10_000_000_000, 0.99) - SCRAMBLED_ZETAN) < 1e-6);
    assert.ok(Math.abs(zeta(3, 0.5) - (1 + 1 / Math.SQRT2 + 1 / Math.sqrt(3))) < 1e-15);
  });

  test('plain zipfian: rank 0 is hottest and the top 1% of ranks get over half', () => {
    const generator = new ZipfianGenerator(KEYS);
    const random = seeded(1);
    const ranks = Array.from({ length: 100_000 }, () => generator.next(random));
    assert.deepEqual(hottest(ranks, KEYS, 1), [0]);
    // Expected zeta(1000) / zeta(100000), about 0.61.
    const share = ranks.filter((r) => r < KEYS / 100).length / ranks.length;
    assert.ok(share > 0.55, `top 1% share ${share}`);
  });

  test('scrambled zipfian: the top 1% of keys get a large share, spread over the key space', () => {
    const generator = new ScrambledZipfianGenerator(KEYS);
    const random = seeded(2);
    const keys = Array.from({ length: OPS }, () => generator.next(random));
    assert.ok(keys.every((k) => Number.isInteger(k) && k >= 0 && k < KEYS));
    // Ranks are drawn over 10^10 items, so the 1000 hottest keys hold about
    // zeta(1000) / zeta(10^10) = 29% (a plain zipfian over 100k keys gives 61%).
    const share = topShare(keys, KEYS, KEYS / 100);
    assert.ok(share > 0.25, `top 1% share ${share}`);
    const hot = hottest(keys, KEYS, 100);
    const upperHalf = hot.filter((k) => k >= KEYS / 2).length;
    const lowest1 = hot.filter((k) => k < KEYS / 100).length;
    assert.ok(upperHalf >= 25 && upperHalf <= 75, `hot keys in the upper half: ${upperHalf}`);
    assert.ok(lowest1 <= 10, `hot keys in the lowest 1%: ${lowest1}`);
  });

  test('fnvhash64 equals YCSB Utils.fnvhash64 computed with 64-bit integers', () => {
    const reference = (value: number): [number, number] => {
      const mask = (1n << 64n) - 1n;
      let hash = 0xcbf29ce484222325n;
      let v = BigInt(value);
      for (let i = 0; i < 8; i++) {
        hash = ((hash ^ (v & 0xffn)) * 1099511628211n) & mask;
        v >>= 8n;
      }
      if (hash >= 1n << 63n) hash = (1n << 64n) - hash;
      return [Number(hash >> 32n), Number(hash & 0xffffffffn)];
    };
    for (const v of [0, 1, 255, 256, 65_537, 2 ** 32 - 1, 2 ** 32, 9_999_999_999, 2 ** 52 + 3]) {
      assert.deepEqual(fnvhash64(v), reference(v), `value ${v}`);
    }
  });
});

describe('taobench', () => {
  test('every preloaded value is 150 B, the size TAOBench writes', () => {
    const workload = createWorkload('taobench', { keys: KEYS });
    let total = 0;
    for (let key = 0; key < KEYS; key++) {
      const bytes = workload.datasetValueBytes(key);
      assert.ok(bytes >= 1 && bytes <= 150);
      total += bytes;
    }
    assert.equal(total / KEYS, TAOBENCH_WORKLOAD_O.valueBytes);
  });

  test('shard 0 gets its primary_shards share and edges their share of operations', () => {
    const workload = new TaobenchWorkload({ keys: KEYS });
    const ops = run(workload, 100_000, 9);
    const shards = TAOBENCH_WORKLOAD_O.primaryShards;
    const shard0 = shards[0] / shards.reduce((sum, w) => sum + w, 0);
    const inShard0 = ops.filter((op) => workload.shardOf(op.key) === 0).length / ops.length;
    assert.ok(Math.abs(inShard0 - shard0) < 0.01, `shard 0: ${inShard0}, expected ${shard0}`);
    // Single reads are ~half edge reads, read transactions 5/6: edges are a clear majority.
    const edges = ops.filter((op) => workload.isEdge(op.key)).length / ops.length;
    assert.ok(edges > 0.55 && edges < 0.65, `edge share ${edges}`);
  });

  test('shards are contiguous, equal within one key, and each holds objects and edges', () => {
    for (const keys of [150, 1003, 100_000]) {
      const workload = new TaobenchWorkload({ keys });
      const sizes = new Array<number>(50).fill(0);
      const shardEdges = new Array<number>(50).fill(0);
      let previous = 0;
      for (let key = 0; key < keys; key++) {
        const shard = workload.shardOf(key);
        assert.ok(shard === previous || shard === previous + 1, `key ${key} in shard ${shard}`);
        previous = shard;
        sizes[shard]++;
        if (workload.isEdge(key)) shardEdges[shard]++;
      }
      assert.equal(previous, 49);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
      sizes.forEach((size, s) => {
        assert.ok(shardEdges[s] >= 1 && size - shardEdges[s] >= 2, `shard ${s} of ${keys}`);
      });
      const edges = shardEdges.reduce((sum, n) => sum + n, 0);
      const described = workload.describe();
      assert.equal(described['edgeKeys'], edges);
      assert.equal(described['objectKeys'], keys - edges);
      assert.ok(Math.abs(edges / keys - 1 / 3) < 0.05, `${keys} keys: ${edges} edges`);
    }
  });
});

describe('errors', () => {
  test('unknown workload names and bad keys throw RangeErrors naming them', () => {
    assert.throws(() => createWorkload('ycsb-d', { keys: 10 }), {
      name: 'RangeError',
      message: /workload: unknown name "ycsb-d"; expected one of taobench, ycsb-a, ycsb-b/,
    });
    for (const keys of [0, -1, 1.5, Number.NaN, MAX_KEYS + 1]) {
      assert.throws(() => createWorkload('ycsb-a', { keys }), {
        name: 'RangeError',
        message: /^keys must be an integer in \[1, /,
      });
    }
    assert.throws(() => createWorkload('taobench', { keys: 149 }), {
      name: 'RangeError',
      message: /^keys must be an integer in \[150, \d+\] for taobench, got 149/,
    });
    assert.throws(() => createWorkload('ycsb-b', { keys: 10, valueBytes: 0 }), {
      name: 'RangeError',
      message: /^valueBytes must be a positive integer/,
    });
    const workload = createWorkload('ycsb-c', { keys: 10 });
    assert.throws(() => workload.datasetValueBytes(10), { name: 'RangeError', message: /^key / });
  });

  test('generators reject bad parameters by name', () => {
    assert.throws(() => new ZipfianGenerator(0), { name: 'RangeError', message: /^items / });
    assert.throws(() => new ZipfianGenerator(10, 1), { name: 'RangeError', message: /^theta / });
    assert.throws(() => new ScrambledZipfianGenerator(MAX_KEYS + 1), /^RangeError: items /);
    assert.throws(() => new WeightedChoice([0, 0], 'params.x'), /^RangeError: params.x /);
    assert.throws(
      () => new TaobenchWorkload({ keys: 1000 }, { ...TAOBENCH_WORKLOAD_O, primaryShards: [1] }),
      /^RangeError: params.primaryShards /,
    );
  });
});

describe('WeightedChoice', () => {
  test('draws in proportion to the weights and never a zero weight', () => {
    const choice = new WeightedChoice([0, 1, 3, 0, 6], 'weights');
    const random = seeded(4);
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 100_000; i++) counts[choice.sample(random)]++;
    assert.equal(counts[0], 0);
    assert.equal(counts[3], 0);
    // Standard deviations are 0.001 and 0.0015: allow about 6.
    assert.ok(Math.abs(counts[1] / 100_000 - 0.1) < 0.006);
    assert.ok(Math.abs(counts[4] / 100_000 - 0.6) < 0.01);
  });
});
