import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';
import { Prng } from '@heal/base';
import { LATENCY_OFF, SimulatedCrash, type RegionOptions } from '@heal/pmem';
import {
  BucketDigest,
  digestLanesOf,
  PmemStorage,
  StorageError,
  type KeyRecord,
  type PmemStorageOptions,
} from '../../src/index.js';
import { assertSameRecords, rec, tempDir } from './helpers.js';

const tmp = tempDir('pmem');
after(() => tmp.cleanup());
let files = 0;
const newPath = (): string => tmp.path(`p${files++}.pmem`);

const FAST: RegionOptions = { latency: LATENCY_OFF };
const SMALL: PmemStorageOptions = {
  layout: { capacity: 12, keyMaxBytes: 16, valueMaxBytes: 64, metaBytes: 256 },
  region: FAST,
};
/** Sizes of the crash suite: bounded so it runs in a few seconds. */
const CRASH_SEEDS = 60;
const ROUNDS_PER_SEED = 8;
const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

test('round trip: records and the seq high-water mark survive close and reopen', () => {
  const path = newPath();
  const pm = new PmemStorage(path, SMALL);
  assert.equal(pm.recovery.created, true);
  assert.deepEqual([...pm.records()], []);
  const records = [
    rec('a', 1),
    rec('b', 2),
    rec('ключ', 3),
    { ...rec('empty', 4), value: '' },
    rec('a', 5, 'valid'),
  ];
  for (const r of records) pm.write(r);
  assertSameRecords(pm.records(), [
    rec('a', 5, 'valid'),
    rec('b', 2),
    rec('ключ', 3),
    { ...rec('empty', 4), value: '' },
  ]);
  pm.saveSeqHighWater(2 ** 40 + 1);
  pm.close();
  pm.close();
  const again = new PmemStorage(path, { region: FAST });
  assert.equal(again.recovery.created, false);
  assertSameRecords(again.records(), [
    rec('a', 5, 'valid'),
    rec('b', 2),
    rec('ключ', 3),
    { ...rec('empty', 4), value: '' },
  ]);
  assert.equal(again.loadSeqHighWater(), 2 ** 40 + 1);
  again.close();
  assert.equal(existsSync(`${path}.tmp`), false);
});

test('a crash after unsynced writes loses them and only them (strict and adversarial)', () => {
  for (const crashMode of ['strict', 'adversarial'] as const) {
    const pm = new PmemStorage(newPath(), { ...SMALL, crashMode });
    const model = new Map<string, KeyRecord>();
    for (let round = 0; round < 10; round++) {
      for (const r of [rec(KEYS[round % 8] as string, round), rec('a', 100 + round)]) {
        pm.write(r);
        model.set(r.key, r);
      }
      pm.sync();
      pm.write(rec('a', 1000 + round));
      pm.write(rec(`lost${round}`, round));
      pm.crash(round);
      assertSameRecords(pm.records(), model.values(), `${crashMode} round ${round}`);
      assert.deepEqual(pm.recovery.corrupt, []);
      assert.equal(pm.recovery.crash?.mode, crashMode);
    }
    pm.close();
  }
});

test('a state-only change is one setState; a new write is a put; both survive a crash', () => {
  const pm = new PmemStorage(newPath(), SMALL);
  pm.write(rec('k', 1, 'write'));
  pm.sync();
  pm.write(rec('k', 1, 'valid'));
  pm.sync();
  pm.write(rec('k', 1, 'valid'));
  pm.sync();
  assert.deepEqual(
    { puts: pm.stats.puts, stateUpdates: pm.stats.stateUpdates },
    { puts: 1, stateUpdates: 1 },
  );
  pm.write(rec('k', 2, 'write'));
  pm.sync();
  assert.equal(pm.stats.puts, 2);
  pm.crash(5);
  assertSameRecords(pm.records(), [rec('k', 2, 'write')]);
  pm.close();
});

test('capacity, key and value limits are refused at write, naming the field', () => {
  const pm = new PmemStorage(newPath(), SMALL);
  for (let i = 0; i < 12; i++) pm.write(rec(`k${i}`, i));
  assert.throws(
    () => pm.write(rec('one-too-many', 1)),
    (err) =>
      err instanceof StorageError && err.code === 'ERR_STORAGE_FULL' && /12 keys/.test(err.message),
  );
  pm.write(rec('k3', 99)); // an existing key still fits
  pm.sync();
  assert.throws(() => pm.write(rec('one-too-many', 1)), /pmem table full/);
  assert.throws(
    () => pm.write(rec('x'.repeat(17), 1)),
    /record\.key must be 1 to 16 UTF-8 bytes, got 17 bytes/,
  );
  assert.throws(
    () => pm.write({ ...rec('k1', 1), value: '\0'.repeat(65) }),
    /record\.value must be a byte string \(chars 0\.\.255\) of at most 64 bytes, got 65 chars/,
  );
  assert.throws(
    () => new PmemStorage(newPath(), { crashMode: 'gentle' as never }),
    /options\.crashMode/,
  );
  pm.close();
  assert.throws(() => pm.sync(), /storage is closed/);
});

interface Model {
  /** What the last completed sync made durable. */
  synced: Map<string, KeyRecord>;
  /** Written since. */
  pending: Map<string, KeyRecord>;
  /** Every record written per key since the last sync (a crash in sync may leave any of them). */
  written: Map<string, KeyRecord[]>;
  version: number;
  seq: number;
}

/** One random operation: a new write, a state change of the current write, a sync or a seq mark. */
function randomOp(pm: PmemStorage, m: Model, random: Prng): void {
  const roll = random.int(10);
  const key = KEYS[random.int(KEYS.length)] as string;
  const current = m.pending.get(key) ?? m.synced.get(key);
  if (roll < 5 || current === undefined) {
    const r = rec(
      key,
      ++m.version,
      (['valid', 'invalid', 'write', 'replay'] as const)[random.int(4)],
    );
    pm.write(r);
    m.pending.set(key, r);
    m.written.set(key, [...(m.written.get(key) ?? []), r]);
  } else if (roll < 7) {
    const r = {
      ...current,
      state: current.state === 'valid' ? ('write' as const) : ('valid' as const),
    };
    pm.write(r);
    m.pending.set(key, r);
    m.written.set(key, [...(m.written.get(key) ?? []), r]);
  } else if (roll < 9) {
    pm.sync();
    for (const [k, r] of m.pending) m.synced.set(k, r);
    m.pending.clear();
    m.written.clear();
  } else {
    m.seq += 1 + random.int(2000);
    pm.saveSeqHighWater(m.seq);
  }
}

/**
 * What a reopened medium reads in place agrees with a full scan of it: the digest it kept (no
 * scan) is the digest of the records, size, get and the not-Valid list are theirs.
 */
function checkInPlace(pm: PmemStorage, where: string): void {
  const scanned = [...pm.records()];
  assert.deepEqual(
    pm.loadDigest(),
    digestLanesOf(scanned),
    `${where}: the digest at open is that of the durable records`,
  );
  assert.equal(pm.size, scanned.length, `${where}: size`);
  for (const r of scanned)
    assertSameRecords([pm.get(r.key) as KeyRecord], [r], `${where}: get(${r.key})`);
  assertSameRecords(
    pm.notValid(),
    scanned.filter((r) => r.state !== 'valid'),
    `${where}: the not-Valid records`,
  );
  const digest = new BucketDigest();
  const buckets = new Set(scanned.slice(0, 3).map((r) => digest.bucketOf(r.key)));
  assertSameRecords(
    pm.recordsInBuckets(buckets),
    scanned.filter((r) => buckets.has(digest.bucketOf(r.key))),
    `${where}: records in buckets`,
  );
}

/** After a crash inside sync: each key is its synced record or one it was written with since, never torn. */
function checkAfterCrashInSync(pm: PmemStorage, m: Model, where: string): void {
  assert.deepEqual(pm.recovery.corrupt, [], `${where}: a crash alone never corrupts`);
  checkInPlace(pm, where);
  const loaded = new Map([...pm.records()].map((r) => [r.key, r]));
  for (const key of new Set([...m.synced.keys(), ...m.pending.keys(), ...loaded.keys()])) {
    const options = [m.synced.get(key), ...(m.written.get(key) ?? [])];
    const got = loaded.get(key);
    const matches = options.some((o) =>
      o === undefined ? got === undefined : got !== undefined && sameRecord(got, o),
    );
    assert.ok(
      matches,
      `${where}: key ${key} is ${JSON.stringify(got)}, expected one of ${JSON.stringify(options)}`,
    );
    if (got === undefined) m.synced.delete(key);
    else m.synced.set(key, got);
  }
  m.pending.clear();
  m.written.clear();
}

function sameRecord(a: KeyRecord, b: KeyRecord): boolean {
  return (
    a.key === b.key &&
    a.ts.version === b.ts.version &&
    a.ts.cid === b.ts.cid &&
    a.state === b.state &&
    a.origin === b.origin &&
    a.seq === b.seq &&
    a.value === b.value
  );
}

test('crashes at seeded points, inside sync and between operations (strict and adversarial): every synced record is intact, nothing torn is visible, the digest is exact', () => {
  let crashesInSync = 0;
  for (let seed = 1; seed <= CRASH_SEEDS; seed++) {
    const random = new Prng(seed);
    const crashMode = seed % 2 === 0 ? 'strict' : 'adversarial';
    const pm = new PmemStorage(newPath(), { ...SMALL, crashMode });
    const m: Model = {
      synced: new Map(),
      pending: new Map(),
      written: new Map(),
      version: 0,
      seq: 0,
    };
    for (let round = 0; round < ROUNDS_PER_SEED; round++) {
      const where = `seed=${seed} (${crashMode}) round=${round}`;
      const ops = 3 + random.int(15);
      for (let i = 0; i < ops; i++) randomOp(pm, m, random);
      const crashSeed = random.u32();
      if (random.int(2) === 0 && m.pending.size > 0) {
        pm.region.armCrash({
          mode: crashMode,
          seed: crashSeed,
          beforeEvent: random.int(12 * m.pending.size + 1),
        });
        try {
          pm.sync();
          for (const [k, r] of m.pending) m.synced.set(k, r);
          m.pending.clear();
          m.written.clear();
        } catch (err) {
          assert.ok(err instanceof SimulatedCrash, `${where}: ${String(err)}`);
          crashesInSync++;
        }
        pm.crash(crashSeed);
        checkAfterCrashInSync(pm, m, where);
      } else {
        pm.crash(crashSeed);
        m.pending.clear();
        m.written.clear();
        assertSameRecords(pm.records(), m.synced.values(), where);
        checkInPlace(pm, where);
      }
      assert.equal(pm.loadSeqHighWater(), m.seq, `${where}: seq high-water mark`);
    }
    pm.close();
  }
  assert.ok(crashesInSync > CRASH_SEEDS, `crashes struck inside sync (${crashesInSync})`);
});

test('a crash inside sync keeps a prefix of the writes since the last sync, in write order (Strict on pmem)', () => {
  let crashes = 0;
  for (let seed = 1; seed <= CRASH_SEEDS; seed++) {
    const random = new Prng(seed);
    const pm = new PmemStorage(newPath(), SMALL);
    const base = new Map<string, number>();
    for (const key of KEYS.slice(0, 4)) {
      pm.write(rec(key, 0, 'valid'));
      base.set(key, 1);
    }
    pm.sync();
    // Rewrites of the same keys within one sync interval: the case a latest-per-key flush breaks.
    const writes = Array.from({ length: 3 + random.int(8) }, (_, i) => ({
      key: KEYS[random.int(4)] as string,
      n: i + 1,
    }));
    for (const w of writes) pm.write(rec(w.key, w.n, 'valid'));
    const mode = random.int(2) === 0 ? 'strict' : 'adversarial';
    pm.region.armCrash({
      mode,
      seed: random.u32(),
      beforeEvent: random.int(16 * writes.length + 1),
    });
    try {
      pm.sync();
    } catch (err) {
      assert.ok(err instanceof SimulatedCrash, String(err));
      crashes++;
    }
    pm.crash(random.u32());
    checkInPlace(pm, `seed=${seed} (${mode})`);
    const kept = new Map([...pm.records()].map((r) => [r.key, r.ts.version]));
    const states: Map<string, number>[] = [new Map(base)];
    for (const w of writes) states.push(new Map(states[states.length - 1]).set(w.key, w.n + 1));
    const prefix = states.findIndex(
      (s) => s.size === kept.size && [...s].every(([k, v]) => kept.get(k) === v),
    );
    assert.ok(
      prefix >= 0,
      `seed=${seed} (${mode}): ${JSON.stringify([...kept])} is no prefix of ${JSON.stringify(writes)}`,
    );
    pm.close();
  }
  assert.ok(crashes > CRASH_SEEDS / 2, `crashes struck inside sync (${crashes})`);
});
