import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Doorbell, SpscRing } from '../src/index.js';
import {
  kFaninCtlWords,
  type FaninReport,
  type FaninWorkerData,
} from './doorbell-fanin-protocol.js';

/*
 * Several producer threads publish into their own rings, all of which ring one consumer's
 * doorbell, each burst starting the moment the consumer announces a sleep. The producers race
 * each other (only the one that clears the sleeping flag notifies; the others rely on it) and
 * the consumer's way into its park. A lost wake-up leaves records waiting until the park runs
 * out, which fails the consumer; it also checks every record of every ring.
 */

const kWorkerUrl = new URL('./doorbell-fanin-worker.js', import.meta.url);
const kRingCapacityBytes = 4096;
const kProducers = 3;
const kTimeoutMs = 60_000;

/** Workers not yet exited: a failed or timed-out test terminates them, so the file always ends. */
const live = new Set<Worker>();
after(() => Promise.all([...live].map((w) => w.terminate())));

function run(data: FaninWorkerData): Promise<FaninReport> {
  const worker = new Worker(kWorkerUrl, { workerData: data });
  live.add(worker);
  worker.once('exit', () => live.delete(worker));
  return new Promise<FaninReport>((resolve, reject) => {
    worker.once(
      'message',
      (msg: { ok: true; report: FaninReport } | { ok: false; error: string }) =>
        msg.ok
          ? resolve(msg.report)
          : reject(new Error(`${data.role} ${data.index}: ${msg.error}`)),
    );
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`${data.role} ${data.index} exited with code ${code} before reporting`)),
    );
  });
}

test(
  `${kProducers} producers ring one sleeping consumer thousands of times: no wake-up lost, every record in order`,
  { timeout: kTimeoutMs },
  async () => {
    const seed = 0x5eed03;
    const records = 20_000;
    const doorbell = Doorbell.create();
    const ringSabs = Array.from(
      { length: kProducers },
      () => SpscRing.create(kRingCapacityBytes, doorbell).sab,
    );
    const base = {
      ringSabs,
      doorbellSab: doorbell.sab,
      controlSab: new SharedArrayBuffer(kFaninCtlWords * 4),
      seed,
      records,
    };
    const consumer = run({ ...base, role: 'consumer', index: kProducers });
    const producers = Array.from({ length: kProducers }, (_, index) =>
      run({ ...base, role: 'producer', index }),
    );
    const [got] = await Promise.all([consumer, ...producers]);
    assert.deepEqual(
      got.received,
      Array.from({ length: kProducers }, () => records),
    );
    // Bursts average 4.5 records, so each producer took part in about 4,400 sleeps.
    assert.ok(got.sleeps >= 2_000, `the consumer slept ${got.sleeps} times`);
  },
);
