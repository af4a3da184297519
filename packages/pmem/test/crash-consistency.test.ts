/**
 * Crash-consistency suite. Seeded random operation sequences run against PTable and PLog; a
 * crash is injected at every fence (strict), at every flush/fence point (adversarial, a few
 * sequences) and at random ones (adversarial, with a random crash seed); the file is reopened
 * and checked against a model:
 * - every operation that returned is reflected (records present and intact);
 * - the one operation in flight may be visible or not, but never half (no torn record);
 * - PTable's persistent index, count, not-Valid bitmap and fingerprint sums agree with what
 *   `get` returns (the full scan of `verify`, and the sums recomputed from the records);
 * - recovery reports no corruption (crashes alone never corrupt), and the invariants hold;
 * - the recovered structure keeps working (one more operation, then a clean reopen).
 * A failure message carries `seed=... crash=...`, which replays the run.
 */
import assert from 'node:assert/strict';
import { unlinkSync } from 'node:fs';
import { after, test } from 'node:test';
import { Prng } from '@heal/base';
import {
  CorruptionError,
  PLog,
  PmemRegion,
  PTable,
  RecordState,
  SimulatedCrash,
  type ArmedCrashOptions,
  type Fingerprint,
  type PTableLayout,
  type PTableRecord,
} from '../src/index.js';
import { FAST, tempDir } from './helpers.js';

const tmp = tempDir('consistency');
after(() => tmp.cleanup());
let n = 0;

/** Sizes of the suite: bounded so that it runs in seconds. */
const PTABLE_SEEDS = 10;
const PTABLE_OPS = 50;
const PLOG_SEEDS = 6;
const PLOG_APPENDS = 30;
const ADVERSARIAL_RUNS_PER_SEED = 150;
/** Sequences crashed (adversarially) at every flush and fence, one crash seed per point. */
const EVERY_EVENT_SEEDS = 2;
const FINGERPRINT_BUCKETS = 4;
const LAYOUT: PTableLayout = {
  capacity: 6,
  keyMaxBytes: 8,
  valueMaxBytes: 100,
  metaBytes: 256,
  fingerprintBuckets: FINGERPRINT_BUCKETS,
};
const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

/** The test's fingerprint of a record: a bucket by key, lanes from the ts (wrapping past 2^32). */
function fingerprint(key: string, ts: { version: number; cid: number }): Fingerprint {
  return {
    bucket: key.charCodeAt(0) % FINGERPRINT_BUCKETS,
    lane0: (ts.version * 0x9e3779b1 + ts.cid) >>> 0,
    lane1: (ts.version ^ (ts.cid << 8)) >>> 0,
  };
}

function expectedSums(records: readonly PTableRecord[]): number[] {
  const sums = new Uint32Array(2 * FINGERPRINT_BUCKETS);
  for (const r of records) {
    const fp = fingerprint(r.key, r.ts);
    sums[2 * fp.bucket] = (sums[2 * fp.bucket] as number) + fp.lane0;
    sums[2 * fp.bucket + 1] = (sums[2 * fp.bucket + 1] as number) + fp.lane1;
  }
  return [...sums];
}

type TableOp =
  | { kind: 'put'; record: PTableRecord }
  | { kind: 'setState'; key: string; state: number }
  | { kind: 'delete'; key: string }
  | { kind: 'meta'; bytes: Buffer };

/** The seeded operation sequence; puts of new keys stop at capacity (the table would refuse). */
function tableOps(seed: number): TableOp[] {
  const random = new Prng(seed);
  const live = new Set<string>();
  const ops: TableOp[] = [];
  for (let i = 0; ops.length < PTABLE_OPS; i++) {
    const roll = random.int(10);
    const key = KEYS[random.int(KEYS.length)] as string;
    if (roll < 6) {
      if (!live.has(key) && live.size >= LAYOUT.capacity) continue;
      live.add(key);
      const value = Buffer.alloc(random.int(LAYOUT.valueMaxBytes + 1), i & 0xff);
      const ts = { version: i, cid: random.int(4) };
      ops.push({
        kind: 'put',
        record: {
          key,
          ts,
          value,
          state: random.int(4),
          origin: random.int(3),
          seq: i * 7,
          fingerprint: fingerprint(key, ts),
        },
      });
    } else if (roll < 8) {
      ops.push({ kind: 'setState', key, state: random.int(4) });
    } else if (roll < 9) {
      live.delete(key);
      ops.push({ kind: 'delete', key });
    } else {
      ops.push({ kind: 'meta', bytes: Buffer.alloc(1 + random.int(100), i) });
    }
  }
  return ops;
}

interface TableModel {
  records: Map<string, PTableRecord>;
  meta: Buffer | undefined;
}

function applyToModel(model: TableModel, op: TableOp): void {
  if (op.kind === 'put') model.records.set(op.record.key, op.record);
  if (op.kind === 'delete') model.records.delete(op.key);
  if (op.kind === 'meta') model.meta = op.bytes;
  const old = op.kind === 'setState' ? model.records.get(op.key) : undefined;
  if (old !== undefined && op.kind === 'setState')
    model.records.set(op.key, { ...old, state: op.state });
}

function cloneModel(m: TableModel): TableModel {
  return { records: new Map(m.records), meta: m.meta };
}

function applyToTable(table: PTable, op: TableOp): void {
  if (op.kind === 'put') table.put(op.record);
  else if (op.kind === 'setState') table.setState(op.key, op.state);
  else if (op.kind === 'delete') table.delete(op.key);
  else table.writeMeta(op.bytes);
}

interface TableRun {
  done: TableModel;
  inFlight: TableModel | undefined;
  /** Fences and flush/fence events the ops made (-1 when the crash struck first). */
  fences: number;
  events: number;
}

/** Runs the ops, crashing as armed; returns the model before and after the op in flight. */
function runTable(path: string, ops: TableOp[], crash: ArmedCrashOptions | undefined): TableRun {
  const region = PmemRegion.create(path, PTable.bytesFor(LAYOUT), FAST);
  PTable.format(region, LAYOUT);
  const table = PTable.open(region);
  const before = region.stats();
  if (crash !== undefined) region.armCrash(crash);
  const done: TableModel = { records: new Map(), meta: undefined };
  for (const op of ops) {
    const next = cloneModel(done);
    applyToModel(next, op);
    try {
      applyToTable(table, op);
    } catch (err) {
      if (!(err instanceof SimulatedCrash)) throw err;
      return { done, inFlight: next, fences: -1, events: -1 };
    }
    applyToModel(done, op);
  }
  const after = region.stats();
  if (crash !== undefined) region.crash(crash); // the armed point lay past the end: crash now
  return {
    done,
    inFlight: undefined,
    fences: after.fences - before.fences,
    events: after.events - before.events,
  };
}

/** Same fields as a record read back (`get` does not return the fingerprint). */
function sameRecord(a: PTableRecord | undefined, b: PTableRecord | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.key === b.key &&
    a.ts.version === b.ts.version &&
    a.ts.cid === b.ts.cid &&
    a.state === b.state &&
    a.origin === b.origin &&
    a.seq === b.seq &&
    Buffer.from(a.value).equals(Buffer.from(b.value))
  );
}

/**
 * The recovered table must equal `done` or `inFlight` key by key (each key independently), and
 * its count, not-Valid list and fingerprint sums must be those of the records it returns.
 */
function checkTable(
  path: string,
  done: TableModel,
  inFlight: TableModel | undefined,
  where: string,
): void {
  const table = PTable.open(PmemRegion.open(path, FAST));
  assert.deepEqual(table.recovery.corrupt, [], `${where}: a crash alone reported corruption`);
  assert.deepEqual(table.verify(), [], `${where}: a crash alone corrupted a record`);
  const allowed = inFlight === undefined ? [done] : [done, inFlight];
  const present: PTableRecord[] = [];
  for (const key of KEYS) {
    const got = table.get(key);
    assert.ok(
      allowed.some((m) => sameRecord(got, m.records.get(key))),
      `${where}: key ${key} is ${JSON.stringify(got)}, expected ${allowed.map((m) => JSON.stringify(m.records.get(key))).join(' or ')}`,
    );
    if (got !== undefined) present.push(got);
  }
  assert.equal(table.size, present.length, `${where}: the count`);
  assert.deepEqual(
    table
      .notValid()
      .map((r) => r.key)
      .sort(),
    present.filter((r) => r.state !== RecordState.Valid).map((r) => r.key),
    `${where}: the not-Valid list`,
  );
  assert.deepEqual(
    [...table.fingerprintSums()],
    expectedSums(present),
    `${where}: the fingerprint sums`,
  );
  const meta = table.readMeta()?.bytes;
  assert.ok(
    allowed.some((m) =>
      m.meta === undefined ? meta === undefined : meta?.equals(m.meta) === true,
    ),
    `${where}: metadata`,
  );
  const ts = { version: 1, cid: 1 };
  const extra = {
    key: 'z',
    ts,
    value: Buffer.from('after'),
    state: 1,
    origin: 1,
    seq: 1,
    fingerprint: fingerprint('z', ts),
  };
  const spare = table.size < LAYOUT.capacity;
  if (spare) table.put(extra);
  const again = PTable.open(PmemRegion.open(path, FAST));
  again.assertInvariants();
  if (spare)
    assert.ok(sameRecord(again.get('z'), extra), `${where}: the recovered table keeps working`);
}

test('PTable: a strict crash at every fence of seeded sequences loses no returned put and shows no torn record', () => {
  for (let seed = 1; seed <= PTABLE_SEEDS; seed++) {
    const ops = tableOps(seed);
    const path0 = tmp.file(`t${n++}`);
    const { fences } = runTable(path0, ops, undefined);
    unlinkSync(path0);
    assert.ok(fences > PTABLE_OPS, `seed=${seed}: ${fences} fences`);
    for (let k = 0; k <= fences; k++) {
      const path = tmp.file(`t${n++}`);
      const { done, inFlight } = runTable(path, ops, { mode: 'strict', seed: k, beforeFence: k });
      checkTable(path, done, inFlight, `seed=${seed} crash=strict beforeFence=${k}`);
      unlinkSync(path);
    }
  }
});

test('PTable: adversarial crashes at random flush/fence points keep every returned put intact', () => {
  for (let seed = 1; seed <= PTABLE_SEEDS; seed++) {
    const ops = tableOps(seed);
    const path0 = tmp.file(`t${n++}`);
    const { events } = runTable(path0, ops, undefined);
    unlinkSync(path0);
    const random = new Prng(seed * 1000);
    for (let run = 0; run < ADVERSARIAL_RUNS_PER_SEED; run++) {
      const crash = {
        mode: 'adversarial' as const,
        seed: random.u32(),
        beforeEvent: random.int(events + 1),
      };
      const path = tmp.file(`t${n++}`);
      const { done, inFlight } = runTable(path, ops, crash);
      checkTable(
        path,
        done,
        inFlight,
        `seed=${seed} crash=adversarial:${crash.seed} beforeEvent=${crash.beforeEvent}`,
      );
      unlinkSync(path);
    }
  }
});

test('PTable: an adversarial crash at every flush and fence of put, setState and delete keeps the index whole', () => {
  for (let seed = 1; seed <= EVERY_EVENT_SEEDS; seed++) {
    const ops = tableOps(100 + seed);
    const path0 = tmp.file(`t${n++}`);
    const { events } = runTable(path0, ops, undefined);
    unlinkSync(path0);
    assert.ok(events > 5 * PTABLE_OPS, `seed=${seed}: ${events} events`);
    for (let k = 0; k <= events; k++) {
      const crash = { mode: 'adversarial' as const, seed: k, beforeEvent: k };
      const path = tmp.file(`t${n++}`);
      const { done, inFlight } = runTable(path, ops, crash);
      checkTable(
        path,
        done,
        inFlight,
        `seed=${100 + seed} crash=adversarial:${k} beforeEvent=${k}`,
      );
      unlinkSync(path);
    }
  }
});

function logPayloads(seed: number): Buffer[] {
  const random = new Prng(seed);
  return Array.from({ length: PLOG_APPENDS }, (_, i) =>
    Buffer.alloc(random.int(200), (i * 31 + seed) & 0xff),
  );
}

/** Appends until the armed crash; returns how many appends returned. */
function runLog(
  path: string,
  payloads: Buffer[],
  crash: ArmedCrashOptions | undefined,
): { acked: number; fences: number } {
  const region = PmemRegion.create(path, 16384, FAST);
  PLog.format(region, { maxRecordBytes: 256 });
  const log = PLog.open(region);
  const fencesBefore = region.stats().fences;
  if (crash !== undefined) region.armCrash(crash);
  for (let i = 0; i < payloads.length; i++) {
    try {
      log.append(payloads[i] as Buffer);
    } catch (err) {
      if (!(err instanceof SimulatedCrash)) throw err;
      return { acked: i, fences: -1 };
    }
  }
  const fences = region.stats().fences - fencesBefore;
  if (crash !== undefined) region.crash(crash);
  return { acked: payloads.length, fences };
}

/** The recovered log is the acknowledged prefix, plus at most the one append in flight. */
function checkLog(path: string, payloads: Buffer[], acked: number, where: string): void {
  const log = PLog.open(PmemRegion.open(path, FAST));
  const got = [...log.entries()].map((e) => e.payload);
  assert.ok(
    got.length === acked || (got.length === acked + 1 && acked < payloads.length),
    `${where}: ${got.length} records, ${acked} acknowledged`,
  );
  got.forEach((p, i) =>
    assert.ok(p.equals(payloads[i] as Buffer), `${where}: record ${i} differs`),
  );
  if (log.recovery.tornTail !== undefined)
    assert.equal(got.length, acked, `${where}: a torn tail after a whole in-flight record`);
  log.append(Buffer.from('after'));
  const again = PLog.open(PmemRegion.open(path, FAST));
  assert.equal(again.recovery.tornTail, undefined, `${where}: the second recovery is clean`);
  assert.equal(again.recordCount, got.length + 1, `${where}: the recovered log keeps working`);
}

test('PLog: a crash at every fence (strict) and at random points (adversarial) keeps the acknowledged prefix', () => {
  for (let seed = 1; seed <= PLOG_SEEDS; seed++) {
    const payloads = logPayloads(seed);
    const path0 = tmp.file(`l${n++}`);
    const { fences } = runLog(path0, payloads, undefined);
    unlinkSync(path0);
    const random = new Prng(seed);
    const plans: ArmedCrashOptions[] = [];
    for (let k = 0; k <= fences; k++) plans.push({ mode: 'strict', seed: k, beforeFence: k });
    for (let r = 0; r < ADVERSARIAL_RUNS_PER_SEED; r++)
      plans.push({
        mode: 'adversarial',
        seed: random.u32(),
        beforeEvent: random.int(2 * fences + 2),
      });
    for (const plan of plans) {
      const path = tmp.file(`l${n++}`);
      const { acked } = runLog(path, payloads, plan);
      checkLog(path, payloads, acked, `seed=${seed} crash=${JSON.stringify(plan)}`);
      unlinkSync(path);
    }
  }
});

test('the checks can fail: a put whose steps share one fence is caught', () => {
  // The correct image of a put comes from a real put into table A. The broken protocol copies
  // every line it changed into table B and persists them all with one flush + fence; a crash
  // before that fence may keep the valid word's line or the index entry and drop a body line.
  const ts = { version: 1, cid: 1 };
  const record = {
    key: 'a',
    ts,
    value: Buffer.alloc(100, 1),
    state: 1,
    origin: 0,
    seq: 1,
    fingerprint: fingerprint('a', ts),
  };
  let caught = 0;
  for (let seed = 0; seed < 20; seed++) {
    const pathA = tmp.file(`good${n++}`);
    const a = PmemRegion.create(pathA, PTable.bytesFor(LAYOUT), FAST);
    PTable.format(a, LAYOUT);
    PTable.open(a).put(record);
    const pathB = tmp.file(`broken${n++}`);
    const b = PmemRegion.create(pathB, PTable.bytesFor(LAYOUT), FAST);
    PTable.format(b, LAYOUT);
    b.armCrash({ mode: 'adversarial', seed, beforeEvent: 1 });
    b.view.set(a.view);
    assert.throws(() => b.persist(0, b.sizeBytes), SimulatedCrash);
    try {
      const table = PTable.open(PmemRegion.open(pathB, FAST));
      table.get('a');
      if (table.verify().length > 0) caught++;
    } catch (err) {
      if (!(err instanceof CorruptionError || err instanceof assert.AssertionError)) throw err;
      caught++;
    }
    unlinkSync(pathA);
    unlinkSync(pathB);
  }
  assert.ok(
    caught > 0,
    'some crash images show a committed record over a partial body, or a broken index',
  );
});
