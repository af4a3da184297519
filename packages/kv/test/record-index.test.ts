import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '@heal/base';
import { fnvKeyHash, RecordIndex, type KeyHash } from '../src/protocol/record-index.js';

interface Rec {
  readonly key: string;
  readonly n: number;
}

/** A fresh string object with the same text, as the codec makes for each decoded key. */
const copyOf = (key: string): string => [...key].join('');

const KEY_SHAPES = ['', 'k', 'ключ-', '🔑', 'a-much-longer-key-than-eight-units-'];

function randomKey(prng: Prng, keys: number): string {
  return `${KEY_SHAPES[prng.int(KEY_SHAPES.length)]}${prng.int(keys)}`;
}

/** Random sets, gets and batched gets against a Map; then the same contents in the same order. */
function againstMap(hash: KeyHash, steps: number, keys: number, seed: number): void {
  const prng = new Prng(seed);
  const index = new RecordIndex<Rec>(hash);
  const map = new Map<string, Rec>();
  for (let step = 0; step < steps; step++) {
    const roll = prng.int(10);
    if (roll < 4) {
      const record = { key: randomKey(prng, keys), n: step };
      index.set(record);
      map.set(record.key, record);
    } else if (roll < 7) {
      const key = randomKey(prng, keys);
      assert.equal(index.get(copyOf(key)), map.get(key), `get ${key} at step ${step}`);
      assert.equal(index.has(copyOf(key)), map.has(key), `has ${key} at step ${step}`);
    } else {
      const items = Array.from({ length: prng.int(150) }, () => ({
        key: copyOf(randomKey(prng, keys)),
      }));
      const out = new Array<Rec | undefined>(items.length);
      index.getAll(items, out);
      assert.deepEqual(
        out,
        items.map(({ key }) => map.get(key)),
        `getAll at step ${step}`,
      );
    }
    assert.equal(index.size, map.size);
  }
  assert.deepEqual([...index], [...map], 'entries in insertion order');
  assert.deepEqual([...index.keys()], [...map.keys()]);
  assert.deepEqual([...index.values()], [...map.values()]);
  const visited: [string, Rec][] = [];
  index.forEach((record, key, self) => {
    assert.equal(self, index);
    visited.push([key, record]);
  });
  assert.deepEqual(visited, [...map]);
}

test('RecordIndex answers as a Map would, through growth, for keys of every shape', () => {
  againstMap(fnvKeyHash, 20_000, 3000, 1);
});

test('RecordIndex tells keys with equal hashes apart (every key colliding, and a weak hash)', () => {
  againstMap(() => 7, 3000, 200, 2);
  againstMap((key) => key.length + 1, 3000, 300, 3);
  againstMap((key) => (key.length % 2 === 0 ? -1 : 0x7fffffff), 3000, 200, 4);
});

test('RecordIndex iteration is live: records added meanwhile are visited, across growth', () => {
  const index = new RecordIndex<Rec>();
  for (let i = 0; i < 3; i++) index.set({ key: `k${i}`, n: i });
  const seen: string[] = [];
  for (const record of index.values()) {
    seen.push(record.key);
    if (record.n < 100) index.set({ key: `k${record.n + 3}`, n: record.n + 3 });
  }
  assert.equal(seen.length, 103);
  assert.deepEqual(
    seen,
    Array.from({ length: 103 }, (_, i) => `k${i}`),
  );
  index.set({ key: 'k1', n: -1 });
  assert.equal(index.size, 103, 'replacing a record keeps its place');
  assert.equal([...index.values()][1]?.n, -1);
});

test('RecordIndex rejects a hash it cannot store', () => {
  for (const bad of [0, 2 ** 31, 1.5]) {
    const index = new RecordIndex<Rec>(() => bad);
    assert.throws(
      () => index.set({ key: 'a', n: 0 }),
      new RegExp(`key hash must be a non-zero int32, got ${bad}`),
    );
    assert.equal(index.size, 0);
  }
});

test('fnvKeyHash spreads sequential keys over the low bits (the home slots)', () => {
  const slots = new Set<number>();
  for (let i = 0; i < 1024; i++) slots.add(fnvKeyHash(`k${i}`) & 2047);
  // 1024 keys into 2048 slots at random fill about 2048 * (1 - e^-0.5) = 806 of them.
  assert.ok(slots.size > 740, `1024 keys took only ${slots.size} of 2048 home slots`);
  assert.notEqual(fnvKeyHash(''), 0);
});
