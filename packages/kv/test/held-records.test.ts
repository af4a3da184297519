import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '@heal/base';
import { BucketDigest } from '../src/digest/bucket-digest.js';
import type { HeldRecord } from '../src/protocol/durability.js';
import { HeldRecords } from '../src/protocol/held-records.js';
import type { KeyRecord } from '../src/storage/key-record.js';
import { MemoryStorage } from '../src/storage/memory-storage.js';

function record(key: string, version: number): KeyRecord {
  return {
    key,
    ts: { version, cid: 1 },
    value: `v${version}`,
    state: 'valid',
    origin: 0,
    seq: version,
  };
}

function held(r: KeyRecord): HeldRecord {
  return {
    ...r,
    persistedTs: r.ts,
    durableTs: undefined,
    dirty: false,
    mayBeUndurable: false,
    undurableListed: false,
    invalidSeq: 0,
  };
}

/** A durable medium holding `keys` records k0..k(keys-1), attached: every record cold. */
function backed(keys: number): {
  records: HeldRecords;
  medium: MemoryStorage;
  materialized: string[];
} {
  const medium = new MemoryStorage(true);
  for (let i = 0; i < keys; i++) medium.write(record(`k${i}`, 1));
  const records = new HeldRecords();
  const materialized: string[] = [];
  records.attach(medium, medium.size, (r) => {
    materialized.push(r.key);
    return held(r);
  });
  return { records, medium, materialized };
}

test('a lookup miss reads the medium once and holds the record; size counts held and cold keys', () => {
  const { records, materialized } = backed(5);
  assert.equal(records.size, 5);
  assert.equal(records.coldSize, 5);
  const first = records.get('k3');
  assert.equal(first?.value, 'v1');
  assert.equal(records.get('k3'), first, 'the second lookup finds the held record');
  assert.equal(records.get('absent'), undefined);
  assert.deepEqual(materialized, ['k3']);
  assert.deepEqual([records.size, records.coldSize], [5, 4]);
  records.set(held(record('new', 2)));
  assert.deepEqual([records.size, records.coldSize], [6, 4]);
  const out: (HeldRecord | undefined)[] = [];
  records.getAll([{ key: 'k0' }, { key: 'new' }, { key: 'k3' }, { key: 'nope' }], out);
  assert.deepEqual(
    out.map((r) => r?.key),
    ['k0', 'new', 'k3', undefined],
  );
  assert.deepEqual(materialized, ['k3', 'k0']);
});

test('a batch naming a cold key twice reads it from the medium once: every other key stays found', () => {
  const { records, materialized } = backed(3);
  const out: (HeldRecord | undefined)[] = [];
  records.getAll([{ key: 'k1' }, { key: 'k1' }, { key: 'absent' }], out);
  assert.equal(out[0]?.value, 'v1');
  assert.equal(out[1], out[0], 'the second item finds the record the first one held');
  assert.equal(out[2], undefined);
  assert.deepEqual(materialized, ['k1']);
  assert.deepEqual([records.size, records.coldSize], [3, 2]);
  assert.deepEqual([...records.keys()].sort(), ['k0', 'k1', 'k2']);
});

test('iteration visits every key once, held first, without holding the cold ones', () => {
  const { records, materialized } = backed(6);
  records.get('k4');
  records.set(held(record('new', 2)));
  assert.deepEqual([...records.keys()], ['k4', 'new', 'k0', 'k1', 'k2', 'k3', 'k5']);
  assert.deepEqual(
    [...records.cold()].map((r) => r.key),
    ['k0', 'k1', 'k2', 'k3', 'k5'],
  );
  assert.deepEqual(
    [...records.held()].map((r) => r.key),
    ['k4', 'new'],
  );
  assert.deepEqual(materialized, ['k4'], 'iterating read the cold records without holding them');
});

test('an iteration spread over time still visits every key present at its start', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const prng = new Prng(seed);
    const { records } = backed(30);
    const present = new Set([...records.keys()]);
    const seen = new Set<string>();
    const it = records.values();
    for (let step = 0; ; step++) {
      // Between visits, the replica looks keys up (holding cold ones) and adds new ones.
      if (prng.int(2) === 0) records.get(`k${prng.int(30)}`);
      if (prng.int(4) === 0) records.set(held(record(`new${step}`, 2)));
      const next = it.next();
      if (next.done === true) break;
      seen.add(next.value.key);
    }
    for (const key of present) assert.ok(seen.has(key), `seed=${seed}: ${key} was not visited`);
    assert.equal(
      records.size,
      30 + [...records.keys()].filter((k) => k.startsWith('new')).length,
      `seed=${seed}: size`,
    );
  }
});

test('the records in some digest buckets are the held ones and the cold ones the medium finds, none held by the search', () => {
  const { records, materialized } = backed(40);
  records.get('k7');
  records.set(held(record('new', 2)));
  const digest = new BucketDigest();
  const buckets = new Set(['k7', 'k8', 'new', 'k30'].map((k) => digest.bucketOf(k)));
  const expected = [...records.keys()].filter((k) => buckets.has(digest.bucketOf(k)));
  assert.deepEqual(
    [...records.inBuckets(buckets)].map((r) => r.key),
    expected,
  );
  assert.ok(expected.length >= 4);
  assert.deepEqual(materialized, ['k7']);
  assert.deepEqual([...records.inBuckets(new Set())], []);
});

test('records with no medium are the held ones only, and attaching twice is refused', () => {
  const records = new HeldRecords();
  records.set(held(record('a', 1)));
  assert.equal(records.get('b'), undefined);
  assert.deepEqual([...records.keys()], ['a']);
  const { records: once, medium } = backed(1);
  assert.throws(() => once.attach(medium, 0, held), /one medium, once/);
});
