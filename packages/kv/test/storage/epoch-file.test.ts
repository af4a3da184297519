import assert from 'node:assert/strict';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PmemStorage, SimCluster, StorageError, WalStorage } from '../../src/index.js';
import { EPOCH_FILE_BYTES, EpochFile } from '../../src/storage/epoch-file.js';
import { decodePmemMeta, encodePmemMeta } from '../../src/storage/pmem-meta.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('epoch');
after(() => tmp.cleanup());

/** Asserts `fn` throws a StorageError naming `file` and matching `what`. */
function assertCorrupt(fn: () => unknown, file: string, what: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StorageError, `a StorageError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_STORAGE_CORRUPT');
    assert.equal(err.file, file);
    assert.ok(err.message.startsWith(file), `the message names the file: ${err.message}`);
    assert.match(err.message, what);
    return true;
  });
}

test('a persisted epoch reads back; none saved reads 0; a leftover temporary file is ignored', () => {
  const file = new EpochFile(tmp.path('a.epoch'));
  assert.equal(file.load(), 0);
  file.save(7);
  assert.equal(file.load(), 7);
  file.save(2 ** 40 + 3);
  assert.equal(new EpochFile(tmp.path('a.epoch')).load(), 2 ** 40 + 3);
  // A save torn by a crash never reached the rename: the temporary file does not count.
  writeFileSync(tmp.path('a.epoch.tmp'), Buffer.from([1, 2, 3]));
  assert.equal(file.load(), 2 ** 40 + 3);
  assert.throws(() => file.save(0), /epoch must be a safe integer >= 1, got 0/);
});

test('a truncated, overlong, foreign or corrupt epoch file is an error naming the file and what is wrong', () => {
  const path = tmp.path('b.epoch');
  const file = new EpochFile(path);
  file.save(12);
  const good = readFileSync(path);
  truncateSync(path, 7);
  assertCorrupt(
    () => file.load(),
    path,
    new RegExp(`7 bytes, expected ${EPOCH_FILE_BYTES} \\(truncated\\)`),
  );
  writeFileSync(path, Buffer.concat([good, Buffer.from([0])]));
  assertCorrupt(() => file.load(), path, /21 bytes, expected 20 \(trailing bytes\)/);
  const foreign = Buffer.from(good);
  foreign.writeUInt32LE(0xdeadbeef, 0);
  writeFileSync(path, foreign);
  assertCorrupt(() => file.load(), path, /not a persisted epoch file \(magic 0xdeadbeef/);
  const flipped = Buffer.from(good);
  flipped[8] = (flipped[8] as number) ^ 1;
  writeFileSync(path, flipped);
  assertCorrupt(() => file.load(), path, /offset 16: persisted epoch checksum mismatch/);
  writeFileSync(path, good);
  assert.equal(file.load(), 12);
});

test('the wal and pmem media keep the epoch next to their data, across a crash', () => {
  const wal = new WalStorage(tmp.path('r.wal'));
  const pmem = new PmemStorage(tmp.path('r.pmem'), { layout: { capacity: 16 } });
  for (const medium of [wal, pmem]) {
    assert.equal(medium.loadEpoch(), 0);
    medium.saveEpoch(5);
    medium.crash(1);
    assert.equal(medium.loadEpoch(), 5);
    medium.close();
  }
  assert.equal(new EpochFile(join(tmp.path('r.wal'), 'epoch')).load(), 5);
  assert.equal(
    existsSync(tmp.path('r.pmem.epoch')),
    false,
    "pmem keeps it in the table's metadata",
  );
  const reopened = new PmemStorage(tmp.path('r.pmem'));
  assert.equal(reopened.loadEpoch(), 5);
  reopened.close();
});

test('a pmem table from before the epoch moved into its metadata reads the file beside it, once', () => {
  const path = tmp.path('old.pmem');
  new PmemStorage(path, { layout: { capacity: 16 } }).close();
  new EpochFile(`${path}.epoch`).save(7);
  const pmem = new PmemStorage(path);
  assert.equal(pmem.loadEpoch(), 7);
  pmem.saveEpoch(8);
  pmem.close();
  new EpochFile(`${path}.epoch`).save(3);
  const again = new PmemStorage(path);
  assert.equal(again.loadEpoch(), 8, 'once the metadata holds an epoch, the file is not read');
  assert.throws(() => again.saveEpoch(2 ** 32), /epoch.*\[1, 4294967295\]/);
  again.close();
});

test('pmem metadata of versions 2 and 3 decode; another version is corrupt, by name', () => {
  const v2 = Buffer.alloc(20);
  v2.writeUInt32LE(0x4d564b48, 0);
  v2.writeUInt32LE(2, 4);
  v2.writeUInt32LE(41, 8);
  assert.deepEqual(decodePmemMeta('t.pmem', 64, v2), {
    seqHighWater: 41,
    epoch: undefined,
    versionVector: undefined,
  });
  const vv = Uint8Array.of(1, 2, 3);
  const v3 = encodePmemMeta({ seqHighWater: 2 ** 40, epoch: 9, versionVector: vv });
  const decoded = decodePmemMeta('t.pmem', 64, v3);
  assert.deepEqual([decoded.seqHighWater, decoded.epoch], [2 ** 40, 9]);
  assert.deepEqual([...(decoded.versionVector ?? [])], [...vv]);
  v3.writeUInt32LE(4, 4);
  assertCorrupt(() => decodePmemMeta('t.pmem', 64, v3), 't.pmem', /version 4/);
});

test('a replica restarting on a medium whose epoch file is corrupt fails with an error naming the file', () => {
  const dataDir = tmp.path('cluster');
  const c = new SimCluster({ seed: 1, replicas: 3, clients: 0, medium: 'wal', dataDir });
  assert.ok(c.settle(1000));
  c.powerFailure();
  c.sim.runFor(5);
  c.restartAll();
  const epoch = c.coldStart(200);
  for (let id = 0; id < 3; id++)
    assert.equal(
      c.sim.storage(id).loadEpoch(),
      epoch,
      `replica ${id} persisted the cold-start view's epoch`,
    );
  c.crash(1);
  const path = join(dataDir, 'replica-1.wal', 'epoch');
  truncateSync(path, 11);
  assertCorrupt(() => c.restart(1), path, /11 bytes, expected 20 \(truncated\)/);
  for (let id = 0; id < 3; id++) c.sim.storage(id).close();
});
