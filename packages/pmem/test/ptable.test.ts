import assert from 'node:assert/strict';
import { truncateSync } from 'node:fs';
import { after, test } from 'node:test';
import {
  CorruptionError,
  PmemError,
  PmemRegion,
  PTable,
  RecordState,
  SimulatedCrash,
  type PTableLayout,
  type PTableRecord,
  type PTableWrite,
} from '../src/index.js';
import { FAST, tempDir } from './helpers.js';

const tmp = tempDir('ptable');
after(() => tmp.cleanup());
let n = 0;
const LAYOUT: PTableLayout = { capacity: 8, keyMaxBytes: 16, valueMaxBytes: 48 };

function newTable(layout = LAYOUT): { path: string; region: PmemRegion; table: PTable } {
  const path = tmp.file(`t${n++}`);
  const region = PmemRegion.create(path, PTable.bytesFor(layout), FAST);
  PTable.format(region, layout);
  return { path, region, table: PTable.open(region) };
}

function rec(
  key: string,
  version: number,
  value = `v${version}`,
  state: number = RecordState.Valid,
): PTableRecord {
  return {
    key,
    ts: { version, cid: 3 },
    value: Buffer.from(value),
    state,
    origin: 2,
    seq: 1000 + version,
  };
}

function reopen(path: string): PTable {
  return PTable.open(PmemRegion.open(path, FAST));
}

test('put, get, update, setState and delete; a reopen sees the same table', () => {
  const { path, region, table } = newTable();
  table.put(rec('a', 1));
  table.put(rec('b', 1, 'héllo'));
  table.put(rec('a', 2, 'a-two'));
  assert.equal(table.setState('b', RecordState.Write), true);
  assert.equal(table.setState('zz', RecordState.Write), false);
  table.put(rec('c', 7));
  assert.equal(table.delete('c'), true);
  assert.equal(table.delete('c'), false);
  assert.deepEqual(table.get('a'), rec('a', 2, 'a-two'));
  region.close();
  const again = reopen(path);
  assert.deepEqual(again.recovery, {
    records: 2,
    freeSlots: 7,
    intent: 'delete',
    notValid: 1,
    staleBits: 0,
    corrupt: [],
  });
  assert.deepEqual(again.get('a'), rec('a', 2, 'a-two'));
  assert.deepEqual(again.get('b'), rec('b', 1, 'héllo', RecordState.Write));
  assert.equal(again.get('c'), undefined);
  assert.deepEqual([...again.keys()].sort(), ['a', 'b']);
});

test('u53 fields, an empty value and a maximal key round-trip', () => {
  const { table } = newTable();
  const big: PTableRecord = {
    key: 'k'.repeat(16),
    ts: { version: 2 ** 53 - 1, cid: 2 ** 32 - 1 },
    value: Buffer.alloc(0),
    state: 255,
    origin: 65535,
    seq: 2 ** 40 + 3,
  };
  table.put(big);
  assert.deepEqual(table.get(big.key), big);
});

test('a byte string value is stored as the same bytes as its array', () => {
  const { path, region, table } = newTable();
  const bytes = Buffer.from([0, 1, 0x7f, 0x80, 0xc3, 0xa9, 0xff]);
  table.put({ ...rec('s', 1), value: bytes.toString('latin1') });
  table.put(rec('a', 1));
  table.put({ ...rec('a', 2), value: 'a-two' });
  assert.deepEqual(table.get('s'), { ...rec('s', 1), value: bytes });
  region.close();
  assert.deepEqual(reopen(path).get('a'), rec('a', 2, 'a-two'));
});

test('bad records are refused with the field named', () => {
  const { table } = newTable();
  const cases: [Partial<PTableWrite>, RegExp][] = [
    [{ key: '' }, /key must be 1 to 16 UTF-8 bytes/],
    [{ key: 'x'.repeat(17) }, /key must be 1 to 16 UTF-8 bytes, got 17 bytes/],
    [
      { value: Buffer.alloc(49) },
      /value must be a Uint8Array or a byte string of at most 48 bytes/,
    ],
    [{ value: 'x'.repeat(49) }, /value must be a Uint8Array or a byte string of at most 48 bytes/],
    [{ value: 'é is a byte, ő is not' }, /value must be a Uint8Array or a byte string/],
    [{ ts: { version: -1, cid: 0 } }, /ts.version must be/],
    [{ ts: { version: 1, cid: 2 ** 32 } }, /ts.cid must be/],
    [{ state: 256 }, /state must be/],
    [{ origin: 1.5 }, /origin must be/],
    [{ seq: 2 ** 53 }, /seq must be/],
  ];
  for (const [patch, message] of cases) {
    assert.throws(
      () => table.put({ ...rec('k', 1), ...patch }),
      (e: PmemError) => e.code === 'ERR_PMEM_ARGUMENT' && message.test(e.message),
    );
  }
  assert.equal(table.size, 0, 'nothing was written');
});

test('a full table refuses a new key but still updates existing ones', () => {
  const { table } = newTable({ capacity: 2, keyMaxBytes: 4, valueMaxBytes: 4 });
  table.put(rec('a', 1, 'x'));
  table.put(rec('b', 1, 'x'));
  assert.throws(
    () => table.put(rec('c', 1, 'x')),
    (e: PmemError) => e.code === 'ERR_PMEM_FULL',
  );
  for (let v = 2; v < 10; v++) table.put(rec('a', v, 'y'));
  assert.equal(table.get('a')?.ts.version, 9);
  table.assertInvariants();
});

test('a crash after a put committed and before its last step: open finishes the put', () => {
  const { path, region, table } = newTable();
  table.put(rec('a', 1));
  region.armCrash({ mode: 'strict', seed: 1, beforeFence: 2 }); // fences: body + intent, valid word, last step
  assert.throws(() => table.put(rec('a', 2)), SimulatedCrash);
  const again = reopen(path);
  assert.equal(again.recovery.intent, 'put');
  assert.deepEqual(again.get('a'), rec('a', 2));
  assert.equal(again.size, 1);
  again.assertInvariants();
});

test('a crash before a put committed leaves the old version and the slot free', () => {
  const { path, region, table } = newTable();
  table.put(rec('a', 1));
  region.armCrash({ mode: 'strict', seed: 1, beforeFence: 1 });
  assert.throws(() => table.put(rec('a', 2, 'v2', RecordState.Write)), SimulatedCrash);
  const again = reopen(path);
  assert.equal(again.recovery.intent, 'uncommitted');
  assert.equal(again.recovery.staleBits, 1, 'the bit P1 set for the new slot is cleared');
  assert.deepEqual(again.get('a'), rec('a', 1));
  again.assertInvariants();
});

test("open reads no slot but the last put's: a table whose every record is garbled opens, and reads refuse them", () => {
  const { path, region, table } = newTable();
  for (let i = 0; i < 6; i++) table.put(rec(`k${i}`, i));
  const { slotsOffset, slotCount, slotBytes } = table.layout;
  for (let slot = 0; slot < slotCount; slot++)
    region.view[slotsOffset + slot * slotBytes + 40] ^= 0x10; // valueBytes
  region.close();
  const again = reopen(path);
  const last = { slot: 5, offset: slotsOffset + 5 * slotBytes, reason: 'record checksum mismatch' };
  assert.deepEqual(again.recovery, {
    records: 6,
    freeSlots: 3,
    intent: 'put',
    notValid: 0,
    staleBits: 0,
    corrupt: [last],
  });
  assert.throws(() => again.get('k3'), CorruptionError);
  assert.deepEqual([...again.entries()], [], 'iteration skips what fails its checks');
  assert.equal(again.corrupt.length, 6);
});

test('the not-Valid records are listed from the bitmap, before and after a reopen', () => {
  const { path, region, table } = newTable();
  table.put(rec('a', 1, 'x', RecordState.Write));
  table.put(rec('b', 1, 'x', RecordState.Invalid));
  table.put(rec('c', 1));
  table.setState('a', RecordState.Valid);
  table.setState('c', RecordState.Replay);
  table.put(rec('b', 2, 'y'));
  const keys = (t: PTable): string[] =>
    t
      .notValid()
      .map((r) => `${r.key}:${r.state}`)
      .sort();
  assert.deepEqual(keys(table), ['c:3']);
  region.close();
  const again = reopen(path);
  assert.deepEqual(keys(again), ['c:3']);
  assert.equal(again.recovery.notValid, 1);
  again.setState('a', RecordState.Write); // what open found changes: each change is seen
  assert.deepEqual(keys(again), ['a:2', 'c:3']);
  const reopened = reopen(path);
  reopened.put(rec('d', 1, 'x', RecordState.Invalid));
  assert.deepEqual(keys(reopened), ['a:2', 'c:3', 'd:0']);
  reopened.setState('c', RecordState.Valid);
  assert.deepEqual(keys(reopened), ['a:2', 'd:0']);
  reopened.assertInvariants();
});

test('fingerprint sums follow puts, updates and deletes, and bad fingerprints are refused', () => {
  const layout = { ...LAYOUT, fingerprintBuckets: 4 };
  const { path, region, table } = newTable(layout);
  const fp = (bucket: number, lane0: number, lane1: number) => ({ bucket, lane0, lane1 });
  table.put({ ...rec('a', 1), fingerprint: fp(1, 0xffffffff, 5) });
  table.put({ ...rec('b', 1), fingerprint: fp(1, 2, 7) });
  table.put({ ...rec('a', 2), fingerprint: fp(1, 10, 1) });
  table.put({ ...rec('c', 1), fingerprint: fp(3, 4, 4) });
  table.delete('c');
  assert.deepEqual([...table.fingerprintSums()], [0, 0, 12, 8, 0, 0, 0, 0]);
  assert.throws(() => table.put(rec('d', 1)), /fingerprint must be present/);
  assert.throws(
    () => table.put({ ...rec('a', 3), fingerprint: fp(2, 0, 0) }),
    /fingerprint.bucket must be 1, the bucket of the key's current record/,
  );
  assert.throws(
    () => table.put({ ...rec('d', 1), fingerprint: fp(4, 0, 0) }),
    /fingerprint.bucket must be an integer in \[0, 4\)/,
  );
  assert.throws(
    () => table.put({ ...rec('d', 1), fingerprint: fp(0, -1, 0) }),
    /fingerprint.lane0/,
  );
  assert.throws(
    () => newTable().table.put({ ...rec('d', 1), fingerprint: fp(0, 0, 0) }),
    /fingerprint must be absent/,
  );
  assert.throws(
    () => PTable.bytesFor({ ...LAYOUT, fingerprintBuckets: 3 }),
    /fingerprintBuckets must be 0 or a power of two/,
  );
  assert.deepEqual([...table.entriesInBuckets(new Set([1]))].map((r) => r.key).sort(), ['a', 'b']);
  assert.deepEqual([...table.entriesInBuckets(new Set([0, 2, 3]))], []);
  assert.throws(
    () => [...newTable().table.entriesInBuckets(new Set([0]))],
    /entriesInBuckets must be a table with fingerprint sums/,
  );
  region.close();
  const again = reopen(path);
  assert.deepEqual([...again.fingerprintSums()], [0, 0, 12, 8, 0, 0, 0, 0]);
  again.assertInvariants();
});

test('a record failing its checksum is reported with slot and offset, and never returned', () => {
  const { path, region, table } = newTable();
  table.put(rec('a', 1, 'alpha'));
  table.put(rec('b', 1, 'beta'));
  const slotB = table.layout.slotsOffset + table.layout.slotBytes; // the free stack hands out slot 0 then 1
  assert.equal(region.view.toString('utf8', slotB + 56, slotB + 57), 'b');
  region.view[slotB + 58] ^= 0x20; // a value byte of 'b'
  const isReported = (e: CorruptionError): boolean =>
    e instanceof CorruptionError && e.offset === slotB && /checksum/.test(e.message);
  assert.throws(() => table.get('b'), isReported);
  assert.deepEqual(table.corrupt, [{ slot: 1, offset: slotB, reason: 'record checksum mismatch' }]);
  region.close();
  const again = reopen(path);
  assert.throws(() => again.get('b'), isReported);
  assert.deepEqual(again.verify(), [
    { slot: 1, offset: slotB, reason: 'record checksum mismatch' },
  ]);
  assert.deepEqual([...again.keys()], ['a']);
  assert.deepEqual(again.get('a'), rec('a', 1, 'alpha'));
  again.put(rec('b', 2, 'new')); // a new version replaces the corrupt one
  assert.equal(again.get('b')?.ts.version, 2);
  assert.deepEqual(again.verify(), []);
});

test('a flipped valid-word tag and a flipped state are both reported', () => {
  const { region, table } = newTable();
  table.put(rec('a', 1));
  table.put(rec('b', 1));
  const s0 = table.layout.slotsOffset;
  region.view[s0] ^= 0x01; // tag of slot 0
  region.view[s0 + table.layout.slotBytes + 2] ^= 0x02; // state of slot 1
  const reasons = table.verify().map((c) => c.reason);
  assert.deepEqual(reasons, ['valid word tag 0xc0a0 is not 0xc0a1', 'record checksum mismatch']);
});

test('corrupt headers and truncated files get clear errors', () => {
  const { path, region } = newTable();
  region.view[20] ^= 0x01; // a layout field: the header checksum catches it
  assert.throws(
    () => PTable.open(region),
    (e: CorruptionError) => e instanceof CorruptionError && e.offset === 60,
  );
  region.view[20] ^= 0x01;
  region.close();
  truncateSync(path, PTable.bytesFor(LAYOUT) - 64);
  assert.throws(() => reopen(path), /declares \d+ \(truncated\?\)/);
  const plain = PmemRegion.create(tmp.file(`p${n++}`), 4096, FAST);
  assert.throws(() => PTable.open(plain), /not formatted as a PTable/);
  assert.throws(
    () => PTable.format(plain, { capacity: 1000, keyMaxBytes: 16, valueMaxBytes: 16 }),
    /layout must be at most the region size/,
  );
  assert.throws(
    () => PTable.bytesFor({ capacity: 0, keyMaxBytes: 1, valueMaxBytes: 1 }),
    /capacity must be an integer/,
  );
});

test('metadata updates are atomic: a torn update leaves the previous value', () => {
  const { path, region, table } = newTable();
  assert.equal(table.readMeta(), undefined);
  table.writeMeta(Buffer.from('vv=1'));
  table.writeMeta(Buffer.from('vv=2'));
  assert.throws(() => table.writeMeta(Buffer.alloc(1000)), /metadata must be at most 496 bytes/);
  region.armCrash({ mode: 'adversarial', seed: 11, beforeFence: 0 });
  assert.throws(() => table.writeMeta(Buffer.alloc(300, 0x77)), SimulatedCrash);
  const meta = reopen(path).readMeta();
  assert.ok(meta !== undefined);
  assert.ok(
    meta.bytes.equals(Buffer.from('vv=2')) || meta.bytes.equals(Buffer.alloc(300, 0x77)),
    'old or new, never a mix',
  );
});
