/*
 * Worker side of ring-stress.test.ts: one producer or one consumer of a SpscRing.
 *
 * Producer: stamps records (epoch, seq) with seeded lengths and payloads; first streams
 * `streamRecords` records publishing every 1..64 records (blocking in waitForSpace when full), then sends
 * `burstRecords` in bursts of 1..200 records, each burst published only once the consumer has
 * announced a new sleep (so every burst has to ring the doorbell of a sleeping consumer).
 * Consumer: checks every record (order, no loss, no duplicate, length, checksum), sleeps on
 * the doorbell after kSpinPolls empty polls, reports progress in the control words, and ends
 * once it has `finalRecords` records of `finalEpoch`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Prng } from '@heal/base';
import { Doorbell, SpscRing } from '../src/index.js';
import { checkRecord, readU32, recordLength, writeRecord } from './ring-records.js';
import {
  kCtlReceived,
  kCtlSleeps,
  type StressReport,
  type StressWorkerData,
} from './ring-stress-protocol.js';

/** Empty polls before the consumer sleeps: small, so that it sleeps often. */
const kSpinPolls = 64;
const kMaxBatchRecords = 64;
const kMaxBurstRecords = 200;
/** Longest park of the consumer: far above any wake-up latency, far below the test's deadline. */
const kParkMs = 1000;

const data = workerData as StressWorkerData;
const control = new Int32Array(data.controlSab);
const ring = new SpscRing(data.ringSab, new Doorbell(data.doorbellSab));

function produce(): StressReport {
  const prng = new Prng(data.seed ^ Math.imul(data.epoch, 0x2545f491));
  const max = ring.maxRecordBytes;
  let seq = 0;
  const send = (count: number, publishEvery: () => number): void => {
    let batch = publishEvery();
    for (let end = seq + count; seq < end;) {
      const length = recordLength(data.seed, seq, max);
      const at = ring.reserve(length);
      if (at < 0) {
        ring.waitForSpace(length); // full: publish, block until the consumer releases room
        continue;
      }
      writeRecord(ring.bytes, at, length, data.seed, data.epoch, seq++);
      ring.commit();
      if (--batch === 0) {
        ring.publish();
        batch = publishEvery();
      }
    }
    ring.publish();
  };
  send(data.streamRecords, () => 1 + (prng.u32() % kMaxBatchRecords));
  let sleepsSeen = Atomics.load(control, kCtlSleeps);
  for (let left = data.burstRecords; left > 0;) {
    // Wait until the consumer has started a new sleep (futex on the sleep counter, then a short
    // spin while it enters Doorbell.waitSync), then burst.
    for (;;) {
      const sleeps = Atomics.load(control, kCtlSleeps);
      if (sleeps === sleepsSeen) Atomics.wait(control, kCtlSleeps, sleeps);
      else if (ring.doorbell.isSleeping()) break;
    }
    sleepsSeen = Atomics.load(control, kCtlSleeps);
    const burst = Math.min(left, 1 + (prng.u32() % kMaxBurstRecords));
    send(burst, () => burst);
    left -= burst;
  }
  return {
    role: 'producer',
    epochs: [{ epoch: data.epoch, records: seq }],
    sleeps: 0,
    lateWakes: 0,
    stats: ring.stats(),
  };
}

function consume(): StressReport {
  const max = ring.maxRecordBytes;
  const epochs: { epoch: number; records: number }[] = [];
  let epoch = -1;
  let expected = 0;
  let received = 0;
  let sleeps = 0;
  let lateWakes = 0;
  const handler = (bytes: Uint8Array, offset: number, length: number): void => {
    const recordEpoch = readU32(bytes, offset + 4);
    if (recordEpoch !== epoch) {
      if (recordEpoch < epoch)
        throw new Error(`seed=${data.seed}: epoch went back from ${epoch} to ${recordEpoch}`);
      if (epoch >= 0) epochs.push({ epoch, records: expected });
      epoch = recordEpoch;
      expected = 0;
    }
    const problem = checkRecord(bytes, offset, length, data.seed, max, expected);
    if (problem !== undefined)
      throw new Error(`seed=${data.seed} epoch=${epoch} after ${received} records: ${problem}`);
    expected++;
    received++;
  };
  const isEmpty = (): boolean => ring.isEmpty();
  for (let idle = 0; !(epoch === data.finalEpoch && expected >= data.finalRecords);) {
    if (ring.poll(handler) > 0) {
      idle = 0;
      Atomics.store(control, kCtlReceived, received);
      Atomics.notify(control, kCtlReceived);
      continue;
    }
    if (++idle < kSpinPolls) continue;
    idle = 0;
    sleeps++;
    Atomics.store(control, kCtlSleeps, sleeps);
    Atomics.notify(control, kCtlSleeps);
    // As the runtime's workers do: park the thread (Atomics.wait) on the doorbell. The park is
    // bounded so that a lost wake-up shows as a late wake (counted, and asserted to be zero)
    // instead of a hang; a producer always publishes and rings long before it runs out.
    const parkedAt = performance.now();
    ring.doorbell.waitSync(isEmpty, kParkMs);
    if (performance.now() - parkedAt >= kParkMs && !ring.isEmpty()) lateWakes++;
  }
  epochs.push({ epoch, records: expected });
  if (!ring.isEmpty()) throw new Error(`seed=${data.seed}: records after the last expected one`);
  return { role: 'consumer', epochs, sleeps, lateWakes, stats: ring.stats() };
}

try {
  const report = data.role === 'producer' ? produce() : consume();
  parentPort?.postMessage({ ok: true, report });
} catch (err) {
  parentPort?.postMessage({ ok: false, error: (err as Error).stack ?? String(err) });
}
