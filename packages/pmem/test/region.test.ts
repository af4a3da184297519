import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import {
  LatencyModel,
  LINE_BYTES,
  PmemError,
  PmemRegion,
  type MonotonicClock,
} from '../src/index.js';
import { FAST, tempDir } from './helpers.js';

const tmp = tempDir('region');
after(() => tmp.cleanup());
let n = 0;
const fresh = (): string => tmp.file(`r${n++}`);

test('create rejects sizes that are not positive multiples of 64, naming the field', () => {
  for (const size of [0, -64, 100, 1.5 * 64]) {
    assert.throws(
      () => PmemRegion.create(fresh(), size, FAST),
      (e: PmemError) => e.code === 'ERR_PMEM_ARGUMENT' && /sizeBytes/.test(e.message),
    );
  }
});

test('create refuses an existing file and open refuses a missing one, naming the file', () => {
  const path = fresh();
  PmemRegion.create(path, 4096, FAST).close();
  assert.throws(
    () => PmemRegion.create(path, 4096, FAST),
    (e: PmemError) => e.code === 'ERR_PMEM_FILE' && e.message.includes(path),
  );
  assert.throws(
    () => PmemRegion.open(`${path}-missing`, FAST),
    (e: PmemError) => e.code === 'ERR_PMEM_FILE',
  );
});

test('open of a truncated file (size not a multiple of 64) fails with a clear error', () => {
  const path = fresh();
  PmemRegion.create(path, 4096, FAST).close();
  truncateSync(path, 4000);
  assert.throws(
    () => PmemRegion.open(path, FAST),
    /size 4000 bytes is not a region size.*truncated/,
  );
  writeFileSync(path, '');
  assert.throws(() => PmemRegion.open(path, FAST), /size 0 bytes/);
});

test('options are validated with the field named', () => {
  assert.throws(
    () => PmemRegion.create(fresh(), 4096, { durability: 'fsync' as never }),
    /durability must be/,
  );
  assert.throws(
    () => PmemRegion.create(fresh(), 4096, { latency: { fenceNs: -1 } }),
    /latency.fenceNs/,
  );
});

test('flush marks every covering line and fence makes them durable, with counters', () => {
  const r = PmemRegion.create(fresh(), 8192, FAST);
  r.flush(60, 8); // lines 0 and 1
  r.flush(64, 1); // line 1 again: counted as flushed, made durable once
  assert.deepEqual([r.stats().linesFlushed, r.stats().fences, r.stats().bytesDurable], [3, 0, 0]);
  r.fence();
  assert.deepEqual([r.stats().fences, r.stats().bytesDurable], [1, 2 * LINE_BYTES]);
  r.persist(8192 - 1, 1);
  r.fence(); // an empty fence still counts
  const s = r.stats();
  assert.deepEqual([s.linesFlushed, s.fences, s.bytesDurable, s.events], [4, 3, 3 * LINE_BYTES, 6]);
  r.close();
});

test('flush outside the region fails naming the offset; a closed region refuses work', () => {
  const r = PmemRegion.create(fresh(), 4096, FAST);
  assert.throws(
    () => r.flush(4090, 7),
    (e: PmemError) => e.code === 'ERR_PMEM_RANGE' && e.offset === 4090,
  );
  assert.throws(() => r.flush(-1, 1), /offset -1/);
  assert.throws(() => r.persist(1.5, 1), /offset 1.5/);
  r.close();
  assert.throws(
    () => r.fence(),
    (e: PmemError) => e.code === 'ERR_PMEM_CLOSED',
  );
});

test('stores reach the file without a fence: a process crash loses nothing stored', () => {
  const path = fresh();
  const r = PmemRegion.create(path, 4096, FAST);
  r.view.write('stored, never flushed', 100);
  r.close(); // no fence: like a process exit, the mapping's pages are the file's
  const again = PmemRegion.open(path, FAST);
  assert.equal(again.view.toString('utf8', 100, 121), 'stored, never flushed');
});

/** The process's memory mappings now (Linux), or undefined where /proc is not there. */
function mappingCount(): number | undefined {
  try {
    return readFileSync('/proc/self/maps', 'utf8').split('\n').length;
  } catch {
    return undefined;
  }
}

test('close and crash release the mapping at once: thousands of regions reopened keep none', () => {
  const path = fresh();
  PmemRegion.create(path, 64 * 1024, FAST).close();
  const before = mappingCount();
  // More than a thousand open regions would add as many mappings until a major GC.
  for (let i = 0; i < 2_000; i++) {
    const r = PmemRegion.open(path, FAST);
    r.view.writeUInt32LE(i, 0);
    if (i % 2 === 0) r.close();
    else r.crash({ mode: 'strict', seed: i });
    assert.equal(r.view.length, 0, 'a closed region keeps no view of the file');
  }
  const after = mappingCount();
  if (before !== undefined && after !== undefined) {
    assert.ok(after - before < 100, `mappings grew from ${before} to ${after}`);
  }
  const last = PmemRegion.open(path, FAST);
  // The last close kept its unfenced store; the strict crash after it dropped its own.
  assert.equal(last.view.readUInt32LE(0), 1_998);
  last.close();
  last.close();
});

test('every line of a whole-region flush survives a strict crash after the fence (the queue grows)', () => {
  const path = fresh();
  const r = PmemRegion.create(path, 4096 * 64, FAST);
  for (let line = 0; line < 4096; line++) r.view.writeUInt32LE(line + 1, line * 64);
  r.flush(0, 4096 * 64);
  r.fence();
  r.view.writeUInt32LE(0xdead, 64); // stored after the fence, never flushed: dropped
  r.crash({ mode: 'strict', seed: 1 });
  const again = PmemRegion.open(path, FAST);
  for (let line = 0; line < 4096; line++)
    assert.equal(again.view.readUInt32LE(line * 64), line + 1, `line ${line}`);
  again.close();
});

test('a mapping is not memory V8 allocated: mapping a large region starts no collection', () => {
  const sizeBytes = 256 * 1024 * 1024; // sparse: the file takes no disk
  const before = process.memoryUsage().external;
  const r = PmemRegion.create(fresh(), sizeBytes, { ...FAST, crashable: false });
  const grown = process.memoryUsage().external - before;
  // V8 starts a mark-compact once external memory grows 64 MB; the region's own line tables count.
  assert.ok(grown < sizeBytes / 8, `external memory grew ${grown} bytes for the mapping`);
  r.view.writeUInt32LE(7, sizeBytes - 4);
  assert.equal(r.view.readUInt32LE(sizeBytes - 4), 7);
  r.close();
});

test('msync durability msyncs the touched pages, coalescing adjacent ones', () => {
  const r = PmemRegion.create(fresh(), 4 * 4096, { ...FAST, durability: 'msync' });
  r.persist(0, 64);
  assert.equal(r.stats().msyncCalls, 1);
  r.persist(4096 - 64, 128); // two lines in two adjacent pages: one msync
  assert.equal(r.stats().msyncCalls, 2);
  r.flush(0, 64);
  r.flush(3 * 4096, 64); // two distant pages: two msyncs
  r.fence();
  assert.equal(r.stats().msyncCalls, 4);
  r.fence(); // nothing flushed: no msync
  assert.equal(r.stats().msyncCalls, 4);
  const e = PmemRegion.create(fresh(), 4096, FAST);
  e.persist(0, 64);
  assert.equal(e.stats().msyncCalls, 0, 'emulated durability never msyncs');
});

/** A clock that advances `stepNs` on every read, counting reads. */
function steppingClock(stepNs: number): MonotonicClock & { reads: number } {
  let t = 1000;
  const clock = {
    reads: 0,
    nowNs: () => {
      clock.reads++;
      t += stepNs;
      return t;
    },
  };
  return clock;
}

test('the latency model charges flushed lines at the fence and spins the clock past the charge', () => {
  const clock = steppingClock(10);
  const r = PmemRegion.create(fresh(), 4096, { latency: { flushLineNs: 30, fenceNs: 100 }, clock });
  r.flush(0, 256); // 4 lines: 120 ns pending
  assert.equal(clock.reads, 0, 'flush does not spin');
  r.fence();
  assert.equal(r.stats().latencyChargedNs, 220);
  assert.equal(clock.reads, 1 + 22, 'one read for the start, then reads until 220 ns have passed');
  r.fence();
  assert.equal(r.stats().latencyChargedNs, 320, 'an empty fence costs fenceNs');
});

test('a zero latency model never reads the clock', () => {
  const clock = steppingClock(10);
  const model = new LatencyModel({ flushLineNs: 0, fenceNs: 0 }, clock);
  model.chargeFlush(10);
  assert.equal(model.payFence(), 0);
  assert.equal(clock.reads, 0);
  assert.equal(model.enabled, false);
});

test('the default latency model is the cited Optane one and is on', () => {
  const r = PmemRegion.create(fresh(), 4096, { clock: steppingClock(1000) });
  r.persist(0, 64);
  assert.equal(r.stats().latencyChargedNs, 28 + 62);
});

test('a region opened crashable: false keeps what is stored across reopen, counts fences, and refuses to crash', () => {
  const path = fresh();
  const r = PmemRegion.create(path, 8192, { ...FAST, crashable: false });
  r.view.writeUInt32LE(0xdeadbeef, 128);
  r.persist(128, 4);
  r.view.writeUInt32LE(0xcafe, 4096); // stored, never flushed: still in the file (a process crash keeps it)
  assert.deepEqual([r.stats().fences, r.stats().bytesDurable], [1, LINE_BYTES]);
  assert.throws(
    () => r.crash({ mode: 'strict', seed: 1 }),
    (e: PmemError) => e.code === 'ERR_PMEM_ARGUMENT' && /crashable/.test(e.message),
  );
  assert.throws(() => r.armCrash({ mode: 'strict', seed: 1, beforeFence: 0 }), /crashable/);
  r.persist(128, 4); // the line flushed again after its fence is queued again
  assert.equal(r.stats().bytesDurable, 2 * LINE_BYTES);
  r.close();
  const again = PmemRegion.open(path, { ...FAST, crashable: false });
  assert.equal(again.view.readUInt32LE(128), 0xdeadbeef);
  assert.equal(again.view.readUInt32LE(4096), 0xcafe);
  again.close();
  assert.throws(
    () => PmemRegion.create(fresh(), 4096, { crashable: 'no' as never }),
    /crashable must be a boolean/,
  );
});
