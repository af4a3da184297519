import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Doorbell, SpscRing } from '../src/index.js';
import {
  kCtlReceived,
  kCtlWords,
  type StressReport,
  type StressWorkerData,
} from './ring-stress-protocol.js';

/*
 * Two real worker threads move millions of self-checking records through a small ring, so
 * that wraparound, full and empty happen all the time; the consumer checks each record's
 * sequence number, length and checksum (nothing lost, duplicated, reordered or torn). The
 * doorbell is exercised by bursts sent only to a sleeping consumer: a lost wake-up hangs the
 * run, which the test's timeout turns into a failure.
 */

const kWorkerUrl = new URL('./ring-stress-worker.js', import.meta.url);
/** Small: records go up to maxRecordBytes (2044), so a handful fill it. */
const kRingCapacityBytes = 4096;
const kTimeoutMs = 60_000;
const kHarnessPollMs = 50;

interface Channel {
  ring: SpscRing;
  doorbell: Doorbell;
  control: Int32Array;
}

function channel(): Channel {
  const doorbell = Doorbell.create();
  return {
    ring: SpscRing.create(kRingCapacityBytes, doorbell),
    doorbell,
    control: new Int32Array(new SharedArrayBuffer(kCtlWords * 4)),
  };
}

function start(
  ch: Channel,
  options: Partial<StressWorkerData> & Pick<StressWorkerData, 'role' | 'seed'>,
): { worker: Worker; done: Promise<StressReport> } {
  const workerData: StressWorkerData = {
    ringSab: ch.ring.sab,
    doorbellSab: ch.doorbell.sab,
    controlSab: ch.control.buffer as SharedArrayBuffer,
    epoch: 0,
    streamRecords: 0,
    burstRecords: 0,
    finalEpoch: 0,
    finalRecords: 0,
    ...options,
  };
  const worker = new Worker(kWorkerUrl, { workerData });
  live.add(worker);
  worker.once('exit', () => live.delete(worker));
  const done = new Promise<StressReport>((resolve, reject) => {
    worker.once(
      'message',
      (msg: { ok: true; report: StressReport } | { ok: false; error: string }) =>
        msg.ok ? resolve(msg.report) : reject(new Error(`${options.role}: ${msg.error}`)),
    );
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`${options.role} exited with code ${code} before reporting`)),
    );
  });
  return { worker, done };
}

/** Workers not yet exited: a failed or timed-out test terminates them, so the file always ends. */
const live = new Set<Worker>();
after(() => Promise.all([...live].map((w) => w.terminate())));

/**
 * Fails after kTimeoutMs (e.g. a lost wake-up leaves the consumer asleep) and terminates the
 * workers; a ref'd timer, so it fires even when nothing else keeps the process alive.
 */
async function withDeadline<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void Promise.all([...live].map((w) => w.terminate()));
      reject(new Error(`${what}: no result after ${kTimeoutMs} ms (a lost wake-up?)`));
    }, kTimeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once the consumer has received at least `count` records (no polling sleeps). */
async function receivedAtLeast(control: Int32Array, count: number): Promise<void> {
  for (;;) {
    const seen = Atomics.load(control, kCtlReceived);
    if (seen >= count) return;
    // The harness polls with a bounded wait: its own waitAsync wake-ups may come late (they
    // ride the main thread's event loop); the system under test is the workers' handshake.
    const waited = (
      Atomics as unknown as {
        waitAsync(
          a: Int32Array,
          i: number,
          v: number,
          t: number,
        ): { async: boolean; value: Promise<string> | string };
      }
    ).waitAsync(control, kCtlReceived, seen, kHarnessPollMs);
    await waited.value;
  }
}

test(
  'two worker threads move 3 million records through a 4 KiB ring: none lost, duplicated, reordered or torn',
  { timeout: 2 * kTimeoutMs },
  async () => {
    const seed = 0x5eed01;
    const streamRecords = 2_500_000;
    const burstRecords = 500_000;
    const ch = channel();
    const consumer = start(ch, {
      role: 'consumer',
      seed,
      finalEpoch: 1,
      finalRecords: streamRecords + burstRecords,
    });
    const producer = start(ch, { role: 'producer', seed, epoch: 1, streamRecords, burstRecords });
    const [sent, got] = await withDeadline(
      'stream and bursts',
      Promise.all([producer.done, consumer.done]),
    );
    assert.deepEqual(sent.epochs, [{ epoch: 1, records: streamRecords + burstRecords }]);
    assert.deepEqual(got.epochs, [{ epoch: 1, records: streamRecords + burstRecords }]);
    assert.equal(got.stats.polled, streamRecords + burstRecords);
    assert.equal(got.stats.published, streamRecords + burstRecords);
    assert.ok(sent.stats.fullRejects > 0, 'the producer found the ring full');
    // Every burst (1..200 records, about 5,000 of them) went to a consumer that had gone to sleep.
    assert.ok(got.sleeps >= 2_500, `the consumer slept ${got.sleeps} times`);
    assert.equal(
      got.lateWakes,
      0,
      'every park ended by a doorbell, none by running out its time with data waiting',
    );
  },
);

test(
  'a producer terminated mid-stream leaves the ring consistent for a restarted producer',
  { timeout: 2 * kTimeoutMs },
  async () => {
    const seed = 0x5eed02;
    const kills = 4;
    const recordsBetweenKills = 60_000;
    const finalRecords = 100_000;
    const ch = channel();
    const finalEpoch = kills + 1;
    const consumer = start(ch, { role: 'consumer', seed, finalEpoch, finalRecords });
    for (let epoch = 1; epoch <= kills; epoch++) {
      const doomed = start(ch, { role: 'producer', seed, epoch, streamRecords: 2 ** 31 });
      doomed.done.catch(() => {}); // it is terminated before it reports
      await withDeadline(
        `epoch ${epoch}`,
        receivedAtLeast(ch.control, epoch * recordsBetweenKills),
      );
      await doomed.worker.terminate();
    }
    const last = start(ch, {
      role: 'producer',
      seed,
      epoch: finalEpoch,
      streamRecords: finalRecords / 2,
      burstRecords: finalRecords / 2,
    });
    const [, got] = await withDeadline(
      'restarted producer',
      Promise.all([last.done, consumer.done]),
    );
    // The consumer checked every epoch as a gapless run from seq 0; each killed one got somewhere.
    assert.deepEqual(
      got.epochs.map((e) => e.epoch),
      [1, 2, 3, 4, 5],
    );
    for (const e of got.epochs.slice(0, kills))
      assert.ok(e.records > 0, `epoch ${e.epoch} delivered records`);
    assert.equal(got.epochs[kills]?.records, finalRecords);
  },
);
