import assert from 'node:assert/strict';
import { truncateSync } from 'node:fs';
import { after, test } from 'node:test';
import { CorruptionError, PLog, PmemError, PmemRegion, SimulatedCrash } from '../src/index.js';
import { FAST, tempDir } from './helpers.js';

const tmp = tempDir('plog');
after(() => tmp.cleanup());
let n = 0;

function newLog(
  sizeBytes = 8192,
  maxRecordBytes = 256,
): { path: string; log: PLog; region: PmemRegion } {
  const path = tmp.file(`l${n++}`);
  const region = PmemRegion.create(path, sizeBytes, FAST);
  PLog.format(region, { maxRecordBytes });
  return { path, region, log: PLog.open(region) };
}

const payload = (i: number, len = 5 + (i % 40)): Buffer => Buffer.alloc(len, i & 0xff);

test('appended records read back in order and survive a reopen', () => {
  const { path, region, log } = newLog();
  const offsets = [0, 1, 2, 3, 4].map((i) => log.append(payload(i, i === 0 ? 0 : undefined)));
  assert.deepEqual(log.read(offsets[2] as number), payload(2));
  region.close();
  const again = PLog.open(PmemRegion.open(path, FAST));
  assert.deepEqual(again.recovery, { records: 5, tailOffset: log.tailOffset });
  assert.deepEqual(
    [...again.entries()].map((e) => e.payload),
    [payload(0, 0), payload(1), payload(2), payload(3), payload(4)],
  );
});

test('append rejects an oversized payload and reports a full log, naming sizes', () => {
  const { log } = newLog(256, 64);
  assert.throws(() => log.append(Buffer.alloc(65)), /payload must be at most maxRecordBytes=64/);
  log.append(Buffer.alloc(64));
  log.append(Buffer.alloc(64));
  assert.throws(
    () => log.append(Buffer.alloc(64)),
    (e: PmemError) => e.code === 'ERR_PMEM_FULL' && /PLog full/.test(e.message),
  );
});

test('recovery of a torn append reports the torn tail, clears it, and the next recovery is clean', () => {
  const { path, region, log } = newLog();
  log.append(payload(1));
  log.append(payload(2));
  region.armCrash({ mode: 'adversarial', seed: 5, beforeEvent: 1 }); // after the flush, before the fence
  assert.throws(() => log.append(Buffer.alloc(200, 0xee)), SimulatedCrash);
  const r1 = PmemRegion.open(path, FAST);
  const first = PLog.open(r1);
  assert.equal(first.recovery.records, 2);
  assert.ok(first.recovery.tornTail !== undefined, 'the torn record is reported');
  assert.equal(first.recovery.tornTail.offset, first.tailOffset);
  first.append(payload(3, 1));
  r1.close();
  const second = PLog.open(PmemRegion.open(path, FAST));
  assert.equal(second.recovery.tornTail, undefined);
  assert.deepEqual(
    [...second.entries()].map((e) => e.payload),
    [payload(1), payload(2), payload(3, 1)],
  );
});

test('a flipped byte inside the log (a valid record follows) is corruption, not a torn tail', () => {
  const { path, region, log } = newLog();
  const offsets = [1, 2, 3].map((i) => log.append(payload(i)));
  region.view[(offsets[1] as number) + 9] ^= 0x40;
  region.close();
  assert.throws(
    () => PLog.open(PmemRegion.open(path, FAST)),
    (e: CorruptionError) =>
      e instanceof CorruptionError &&
      e.offset === offsets[1] &&
      /checksum mismatch.*valid record follows/.test(e.message),
  );
});

test('a flipped byte in the last record is a torn tail: the earlier records survive', () => {
  const { path, region, log } = newLog();
  const offsets = [1, 2, 3].map((i) => log.append(payload(i)));
  region.view[(offsets[2] as number) + 9] ^= 0x01;
  region.close();
  const again = PLog.open(PmemRegion.open(path, FAST));
  assert.equal(again.recovery.records, 2);
  assert.match(again.recovery.tornTail?.reason ?? '', /checksum mismatch/);
});

test('read of a damaged or misaligned record fails with the offset named', () => {
  const { region, log } = newLog();
  const at = log.append(payload(1));
  assert.throws(
    () => log.read(at + 3),
    (e: PmemError) => e.code === 'ERR_PMEM_RANGE' && e.offset === at + 3,
  );
  region.view[at + 8] ^= 1;
  assert.throws(
    () => log.read(at),
    (e: CorruptionError) => e instanceof CorruptionError && e.offset === at,
  );
});

test('corrupt headers and truncated files get clear errors', () => {
  const { path, region } = newLog();
  region.view[61] ^= 0xff; // the header checksum
  assert.throws(
    () => PLog.open(region),
    (e: CorruptionError) =>
      e instanceof CorruptionError && e.offset === 60 && /header checksum/.test(e.message),
  );
  region.view[61] ^= 0xff;
  region.view[0] ^= 0x01;
  assert.throws(() => PLog.open(region), /magic 0x474f4c51 is not PLog/);
  region.view[0] ^= 0x01;
  const blank = PmemRegion.create(tmp.file(`blank${n++}`), 4096, FAST);
  assert.throws(() => PLog.open(blank), /not formatted as a PLog/);
  region.close();
  truncateSync(path, 64 * 3);
  assert.throws(
    () => PLog.open(PmemRegion.open(path, FAST)),
    /maxRecordBytes 256 does not fit a region of 192 bytes/,
  );
});
