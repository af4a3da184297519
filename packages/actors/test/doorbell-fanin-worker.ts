/*
 * Worker side of doorbell-fanin.test.ts: one consumer of several rings that share its doorbell,
 * or one producer into one of them.
 *
 * Producer `index`: sends `records` self-checking records (epoch = index) in bursts of 1..8,
 * starting each burst as soon as the consumer announces a new sleep, so that the producers race
 * each other's doorbell rings and the consumer's way into its park.
 * Consumer: checks every ring's records (order, no loss, no duplicate, length, checksum) and
 * parks on the doorbell after kSpinPolls empty rounds. It announces the sleep from inside the
 * `isEmpty` it hands the doorbell, that is between its sleeping flag and its park, and lingers
 * there for up to kMaxLingerUs after looking at the rings: so bursts land before, inside and
 * after that window. A park that runs out its time with records waiting is a lost wake-up and
 * fails the run. Done once every ring delivered `records`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Prng } from '@heal/base';
import { Doorbell, SpscRing } from '../src/index.js';
import {
  kFaninCtlSleeps,
  type FaninReport,
  type FaninWorkerData,
} from './doorbell-fanin-protocol.js';
import { checkRecord, readU32, recordLength, writeRecord } from './ring-records.js';

/** Empty rounds before the consumer sleeps: small, so that it sleeps often. */
const kSpinPolls = 16;
const kMaxBurstRecords = 8;
/** Longest park of the consumer: far above any wake-up latency, far below the test's deadline. */
const kParkMs = 1000;
const kMaxLingerUs = 100;

const data = workerData as FaninWorkerData;
const control = new Int32Array(data.controlSab);
const doorbell = new Doorbell(data.doorbellSab);
const rings = data.ringSabs.map((sab) => new SpscRing(sab, doorbell));

function produce(): FaninReport {
  const ring = rings[data.index]!;
  const prng = new Prng(data.seed ^ Math.imul(data.index + 1, 0x2545f491));
  let sleepsSeen = Atomics.load(control, kFaninCtlSleeps);
  for (let seq = 0; seq < data.records;) {
    Atomics.wait(control, kFaninCtlSleeps, sleepsSeen);
    sleepsSeen = Atomics.load(control, kFaninCtlSleeps);
    for (let end = Math.min(data.records, seq + 1 + (prng.u32() % kMaxBurstRecords)); seq < end;) {
      const length = recordLength(data.seed, seq, ring.maxRecordBytes);
      const at = ring.reserve(length);
      if (at < 0) {
        ring.waitForSpace(length);
        continue;
      }
      writeRecord(ring.bytes, at, length, data.seed, data.index, seq++);
      ring.commit();
    }
    ring.publish();
  }
  return { received: [], sleeps: 0 };
}

function consume(): FaninReport {
  const received = rings.map(() => 0);
  let current = 0;
  const handler = (bytes: Uint8Array, offset: number, length: number): void => {
    const epoch = readU32(bytes, offset + 4);
    if (epoch !== current)
      throw new Error(`seed=${data.seed}: ring ${current} carried a record of producer ${epoch}`);
    const problem = checkRecord(
      bytes,
      offset,
      length,
      data.seed,
      rings[current]!.maxRecordBytes,
      received[current]!,
    );
    if (problem !== undefined) throw new Error(`seed=${data.seed} ring ${current}: ${problem}`);
    received[current]!++;
  };
  const linger = new Prng(data.seed);
  let sleeps = 0;
  const isEmpty = (): boolean => {
    Atomics.store(control, kFaninCtlSleeps, ++sleeps);
    Atomics.notify(control, kFaninCtlSleeps);
    const empty = rings.every((ring) => ring.isEmpty());
    for (
      const until = performance.now() + (linger.u32() % kMaxLingerUs) / 1000;
      performance.now() < until;
    );
    return empty;
  };
  for (let idle = 0; received.some((n) => n < data.records);) {
    let n = 0;
    for (current = 0; current < rings.length; current++) n += rings[current]!.poll(handler);
    if (n > 0) {
      idle = 0;
      continue;
    }
    if (++idle < kSpinPolls) continue;
    idle = 0;
    const parkedAt = performance.now();
    doorbell.waitSync(isEmpty, kParkMs);
    if (performance.now() - parkedAt >= kParkMs && !rings.every((ring) => ring.isEmpty())) {
      throw new Error(
        `seed=${data.seed}: lost wake-up: sleep ${sleeps} ran out its ${kParkMs} ms with records waiting`,
      );
    }
  }
  return { received, sleeps };
}

try {
  const report = data.role === 'producer' ? produce() : consume();
  parentPort?.postMessage({ ok: true, report });
} catch (err) {
  parentPort?.postMessage({ ok: false, error: (err as Error).stack ?? String(err) });
}
