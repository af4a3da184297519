import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  latencyPercentileUs,
  LATENCY_HIGHEST_US,
  mergeLatencies,
  newLatencyHistogram,
  recordLatencyUs,
  type LatencyHistogram,
} from '../src/demo/histogram.js';

const MODULE = new URL('../src/demo/histogram.js', import.meta.url).href;

/** Records `values` in a worker thread and returns its histogram as a load task would. */
async function recordInWorker(values: readonly number[]): Promise<LatencyHistogram> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     import(workerData.module).then(({ newLatencyHistogram, recordLatencyUs }) => {
       const h = newLatencyHistogram();
       for (const v of workerData.values) recordLatencyUs(h, v);
       parentPort.postMessage(h);
     });`,
    { eval: true, workerData: { module: MODULE, values } },
  );
  const [histogram] = (await once(worker, 'message')) as [LatencyHistogram];
  await worker.terminate();
  return histogram;
}

test('histograms returned from worker threads merge into the percentiles of all their values', async () => {
  const a = Array.from({ length: 900 }, (_, i) => 100 + i);
  const b = Array.from({ length: 100 }, (_, i) => 50_000 + 10 * i);
  const merged = mergeLatencies(await Promise.all([recordInWorker(a), recordInWorker(b)]));
  const whole = newLatencyHistogram();
  for (const v of [...a, ...b]) recordLatencyUs(whole, v);
  assert.equal(merged.count, 1000);
  for (const p of [50, 90, 99, 100])
    assert.equal(latencyPercentileUs(merged, p), latencyPercentileUs(whole, p), `p${p}`);
  // The 950th of the 1000 values is the 50th of b: 50,490 µs, within 0.1%.
  assert.ok(
    Math.abs(latencyPercentileUs(merged, 95) - 50_490) <= 51,
    `p95 ${latencyPercentileUs(merged, 95)}`,
  );
});

test('latencies are rounded and clamped into the histogram, and an empty one has no percentile', () => {
  const h = newLatencyHistogram();
  assert.ok(Number.isNaN(latencyPercentileUs(h, 50)), 'NaN, printed as null in JSON');
  recordLatencyUs(h, 0.2);
  recordLatencyUs(h, 2 * LATENCY_HIGHEST_US);
  assert.equal(h.count, 2, 'neither is dropped');
  assert.equal(latencyPercentileUs(h, 50), 1);
  assert.ok(latencyPercentileUs(h, 100) >= LATENCY_HIGHEST_US * 0.999);
});
