import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  StorageError,
  WAL_BATCH_BYTES_MAX,
  WAL_SNAPSHOT_TEMP_FILE,
  WalStorage,
  segmentFileName,
  type KeyRecord,
} from '../../src/index.js';
import { assertSameRecords, rec, tempDir } from './helpers.js';

const tmp = tempDir('wal');
after(() => tmp.cleanup());
let dirs = 0;
const newDir = (): string => tmp.path(`w${dirs++}`);

/** Writes `records`, then syncs; returns the latest record per key. */
function writeAll(
  wal: WalStorage,
  records: KeyRecord[],
  model = new Map<string, KeyRecord>(),
): Map<string, KeyRecord> {
  for (const r of records) {
    wal.write(r);
    model.set(r.key, r);
  }
  wal.sync();
  return model;
}

function isCorrupt(file: string, offset: number): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof StorageError, `expected a StorageError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_STORAGE_CORRUPT', err.message);
    assert.equal(err.file, file);
    assert.equal(err.offset, offset, err.message);
    assert.match(err.message, new RegExp(`offset ${offset}`));
    return true;
  };
}

test('round trip: every field of every record, and the seq high-water mark, survive close and reopen', () => {
  const dir = newDir();
  const wal = new WalStorage(dir);
  assert.deepEqual([...wal.records()], []);
  assert.equal(wal.loadSeqHighWater(), 0);
  const records = [
    rec('a', 1),
    rec('b', 2),
    rec('ключ-🔑', 3),
    { ...rec('empty', 4), value: '' },
    {
      ...rec('big', 5),
      ts: { version: Number.MAX_SAFE_INTEGER, cid: 2 ** 32 - 1 },
      seq: Number.MAX_SAFE_INTEGER,
      origin: 0xffff,
    },
    rec('a', 6, 'valid'),
  ];
  const model = writeAll(wal, records);
  wal.saveSeqHighWater(2 ** 40 + 3);
  wal.close();
  wal.close();
  const again = new WalStorage(dir);
  assertSameRecords(again.records(), model.values());
  assert.equal(again.loadSeqHighWater(), 2 ** 40 + 3);
  assert.equal(again.recovery.tornTail, undefined);
  again.close();
});

test('load returns fresh objects: mutating them changes nothing stored', () => {
  const wal = new WalStorage(newDir());
  writeAll(wal, [rec('k', 1, 'write')]);
  const [first] = [...wal.records()];
  assert.ok(first);
  first.state = 'invalid';
  assertSameRecords(wal.records(), [rec('k', 1, 'write')]);
  wal.close();
});

test('a restart (new instance on the directory) loads exactly the synced state', () => {
  const dir = newDir();
  const wal = new WalStorage(dir);
  const model = writeAll(wal, [rec('a', 1), rec('b', 2)]);
  writeAll(wal, [rec('a', 3), rec('c', 4)], model);
  wal.write(rec('a', 5));
  wal.write(rec('d', 6));
  assert.ok(wal.unsyncedBytes > 0);
  const restarted = new WalStorage(dir); // the first instance's batch never reached the file
  assertSameRecords(restarted.records(), model.values());
  restarted.close();
});

test('a crash after unsynced writes loses them and only them, whatever part of the batch was torn', () => {
  const dir = newDir();
  const wal = new WalStorage(dir);
  const model = writeAll(wal, [rec('a', 1), rec('b', 2)]);
  let torn = 0;
  for (let seed = 0; seed < 40; seed++) {
    writeAll(wal, [rec(`s${seed}`, seed), rec('a', 100 + seed)], model);
    wal.write(rec('a', 1000 + seed));
    wal.write(rec(`lost${seed}`, seed));
    wal.crash(seed * 7919);
    if (wal.recovery.tornTail !== undefined) torn++;
    assertSameRecords(wal.records(), model.values(), `seed ${seed}`);
  }
  assert.ok(torn > 30, `most crashes left a torn frame for recovery to drop (${torn})`);
  wal.close();
  assertSameRecords(new WalStorage(dir).records(), model.values());
});

test('torn tail: cutting the last record at every byte offset drops it, reports it, and the log goes on', () => {
  const dir = newDir();
  const wal = new WalStorage(dir);
  const model = writeAll(wal, [rec('a', 1), rec('b', 2), rec('c', 3)]);
  const path = wal.segmentPath;
  const lastStart = statSync(path).size;
  wal.write(rec('last', 4));
  wal.close();
  const full = readFileSync(path);
  assert.ok(full.length - lastStart > 40);
  for (let cut = lastStart; cut < full.length; cut++) {
    writeFileSync(path, full.subarray(0, cut));
    const reopened = new WalStorage(dir);
    assertSameRecords(reopened.records(), model.values(), `cut at ${cut}`);
    const tornTail = reopened.recovery.tornTail;
    if (cut === lastStart) {
      assert.equal(tornTail, undefined, 'a cut at a frame boundary is a clean end');
    } else {
      assert.deepEqual(
        tornTail && {
          file: tornTail.file,
          offset: tornTail.offset,
          droppedBytes: tornTail.droppedBytes,
        },
        { file: path, offset: lastStart, droppedBytes: cut - lastStart },
        `cut at ${cut}`,
      );
    }
    assert.equal(statSync(path).size, lastStart, 'the torn bytes are truncated');
    reopened.write(rec('after', cut));
    reopened.close();
    assertSameRecords(
      new WalStorage(dir).records(),
      [...model.values(), rec('after', cut)],
      `append after cut ${cut}`,
    );
  }
});

test('torn tail: a zero-filled or garbled last frame is dropped, not applied', () => {
  const dir = newDir();
  const wal = new WalStorage(dir);
  const model = writeAll(wal, [rec('a', 1), rec('b', 2)]);
  const path = wal.segmentPath;
  const lastStart = statSync(path).size;
  writeAll(wal, [rec('c', 3)]);
  wal.close();
  const full = readFileSync(path);
  writeFileSync(path, Buffer.concat([full.subarray(0, lastStart), Buffer.alloc(4096)]));
  const zeroed = new WalStorage(dir);
  assertSameRecords(zeroed.records(), model.values());
  assert.match(zeroed.recovery.tornTail?.reason ?? '', /zero-filled/);
  zeroed.close();
  const garbled = Buffer.from(full);
  garbled[full.length - 1] ^= 0x40; // in the value of the last frame
  writeFileSync(path, garbled);
  const reopened = new WalStorage(dir);
  assertSameRecords(reopened.records(), model.values());
  assert.equal(reopened.recovery.tornTail?.offset, lastStart);
  assert.match(reopened.recovery.tornTail?.reason ?? '', /checksum/);
  reopened.close();
});

test('a flipped byte anywhere in a frame in the middle of the log is an error naming file and offset', () => {
  const dir = newDir();
  const wal = new WalStorage(dir);
  writeAll(wal, [rec('a', 1)]);
  const path = wal.segmentPath;
  const middleStart = statSync(path).size;
  writeAll(wal, [rec('middle', 2)]);
  const middleEnd = statSync(path).size;
  writeAll(wal, [rec('c', 3), rec('d', 4)]);
  wal.close();
  const good = readFileSync(path);
  for (let at = middleStart; at < middleEnd; at++) {
    const bad = Buffer.from(good);
    bad[at] ^= 0x01;
    writeFileSync(path, bad);
    assert.throws(() => new WalStorage(dir), isCorrupt(path, middleStart), `byte ${at} flipped`);
  }
  writeFileSync(path, good);
  assertSameRecords(new WalStorage(dir).records(), [
    rec('a', 1),
    rec('middle', 2),
    rec('c', 3),
    rec('d', 4),
  ]);
});

test('checkpoints bound the log; snapshot plus the log after it restart to the latest state', () => {
  const dir = newDir();
  const wal = new WalStorage(dir, { checkpointLogRecords: 25, checkpointLogBytes: 1 << 30 });
  const model = new Map<string, KeyRecord>();
  for (let i = 0; i < 400; i++) {
    writeAll(wal, [rec(`k${i % 37}`, i), rec(`j${(i * 7) % 11}`, i + 1)], model);
    if (i % 50 === 0) wal.saveSeqHighWater(i + 10);
  }
  assert.ok(wal.stats.checkpoints >= 10, `checkpoints ran (${wal.stats.checkpoints})`);
  writeAll(wal, [rec('k1', 9999, 'write'), rec('new', 1)], model);
  wal.write(rec('unsynced', 1));
  wal.crash(0);
  assertSameRecords(wal.records(), model.values());
  assert.equal(wal.loadSeqHighWater(), 360);
  assert.equal(wal.recovery.snapshotRecords, 48);
  assert.ok(
    wal.recovery.framesReplayed < 60,
    `replay is bounded (${wal.recovery.framesReplayed} frames)`,
  );
  const files = readdirSync(dir).sort();
  assert.equal(files.length, 2, files.join(','));
  assert.ok(files.includes('snapshot'));
  wal.close();
});

test('a checkpoint cut short leaves a stale temp file and old segment; the next open removes them', () => {
  const dir = newDir();
  const wal = new WalStorage(dir);
  writeAll(wal, [rec('a', 1), rec('b', 2)]);
  wal.checkpoint();
  const model = writeAll(wal, [rec('a', 3)], new Map([['b', rec('b', 2)]]));
  const current = wal.segmentPath;
  wal.close();
  writeFileSync(join(dir, WAL_SNAPSHOT_TEMP_FILE), 'half a snapshot');
  writeFileSync(join(dir, segmentFileName(1)), 'an old segment the checkpoint had not deleted yet');
  const reopened = new WalStorage(dir);
  assertSameRecords(reopened.records(), model.values());
  assert.deepEqual(
    reopened.recovery.staleFilesRemoved.sort(),
    [segmentFileName(1), WAL_SNAPSHOT_TEMP_FILE].sort(),
  );
  assert.equal(reopened.segmentPath, current);
  assert.equal(existsSync(join(dir, WAL_SNAPSHOT_TEMP_FILE)), false);
  reopened.close();
});

test('a missing segment, or a corrupt snapshot, is an error naming the file', () => {
  const dir = newDir();
  const wal = new WalStorage(dir, { checkpointLogRecords: 3 });
  writeAll(wal, [rec('a', 1), rec('b', 2), rec('c', 3)]);
  const snapshot = join(dir, 'snapshot');
  writeAll(wal, [rec('d', 4)]);
  const segment = wal.segmentPath;
  wal.close();
  const good = readFileSync(snapshot);
  const bad = Buffer.from(good);
  bad[bad.length - 1] ^= 0xff;
  writeFileSync(snapshot, bad);
  assert.throws(
    () => new WalStorage(dir),
    (err) =>
      err instanceof StorageError && err.file === snapshot && err.code === 'ERR_STORAGE_CORRUPT',
  );
  writeFileSync(snapshot, good);
  const numbered = (k: number): string =>
    segment.replace(/\d{12}/, (d) => String(Number(d) + k).padStart(12, '0'));
  writeFileSync(numbered(2), readFileSync(segment));
  assert.throws(
    () => new WalStorage(dir),
    new RegExp(
      `${numbered(1)}: offset 0: segment ${Number(/\d{12}/.exec(segment)?.[0]) + 1} is missing`,
    ),
  );
  writeFileSync(numbered(1), readFileSync(segment));
  assert.throws(() => new WalStorage(dir), isCorrupt(numbered(1), 0));
});

test('the seq high-water mark is durable at once, and never goes back', () => {
  const dir = newDir();
  const wal = new WalStorage(dir);
  wal.write(rec('a', 1));
  wal.saveSeqHighWater(1024);
  wal.write(rec('b', 2));
  wal.crash(3);
  assert.equal(wal.loadSeqHighWater(), 1024);
  assertSameRecords(wal.records(), [rec('a', 1)], 'saving the mark committed the batch before it');
  assert.throws(() => wal.saveSeqHighWater(1000), /goes back/);
  assert.throws(() => wal.saveSeqHighWater(-1), /seq must be a safe integer >= 0, got -1/);
  wal.close();
});

test('bad records are refused at write, naming the field', () => {
  const wal = new WalStorage(newDir());
  assert.throws(
    () => wal.write({ ...rec('a', 1), key: '' }),
    /record\.key must be 1 to 65535 UTF-8 bytes, got 0 bytes/,
  );
  assert.throws(
    () => wal.write({ ...rec('a', 1), state: 'gone' as never }),
    /record\.state must be valid\|invalid\|write\|replay, got gone/,
  );
  assert.throws(() => wal.write({ ...rec('a', 1), origin: 70_000 }), /record\.origin/);
  assert.throws(
    () => wal.write({ ...rec('a', 1), ts: { version: 1.5, cid: 0 } }),
    /record\.ts\.version/,
  );
  assert.throws(
    () => new WalStorage(newDir(), { checkpointLogBytes: 0 }),
    /options\.checkpointLogBytes must be a positive integer, got 0/,
  );
  wal.close();
  assert.throws(() => wal.write(rec('a', 1)), /storage is closed/);
});

test('a batch that reaches its bound is committed by the write that fills it', () => {
  const dir = newDir();
  const wal = new WalStorage(dir);
  const value = '\x07'.repeat(1 << 20);
  const n = Math.ceil(WAL_BATCH_BYTES_MAX / value.length);
  for (let i = 0; i < n; i++) wal.write({ ...rec(`big${i}`, i), value });
  assert.equal(wal.stats.commits, 1);
  assert.equal(wal.unsyncedBytes, 0);
  wal.crash(1);
  assert.equal([...wal.records()].length, n);
  wal.close();
});
