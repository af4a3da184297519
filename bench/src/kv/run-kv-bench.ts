import { LoadGenerators } from '@heal/actors/load-generators';
import { sharedClockMs } from '@heal/actors/rings';
import { ThreadCluster } from '@heal/kv/threads';
import { windowLeadMs, type LoadConfig } from './load-config.js';
import { totalLoad } from './load-results.js';
import type { KvLoadParams, KvLoadResult } from './kv-load-task.js';

export interface KvBenchConfig extends LoadConfig {
  replicas: number[];
  readRatios: number[];
  /** Measured windows per row, one after the other on the same cluster; the row is their median. */
  runs: number;
}

export interface KvBenchRow {
  replicas: number;
  readRatio: number;
  keys: number;
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
  errors: number;
  /** CPU time of the whole process (every thread) in the measured window, per operation. */
  cpuUsPerOp: number;
  /** The operations counted, by the replica that served them (each session has its own replica). */
  opsByReplica: number[];
  /** Windows measured; the fields above are those of the median one by ops/s (the lower middle one of an even count). */
  runs: number;
  /** The slowest and fastest window's ops/s: how far one run can be from another here. */
  opsPerSecMin: number;
  opsPerSecMax: number;
}

/** One measured window: a row before the spread over windows is known. */
type KvWindow = Omit<KvBenchRow, 'runs' | 'opsPerSecMin' | 'opsPerSecMax'>;

const TASK = new URL('./kv-load-task.js', import.meta.url);

/**
 * For each replica count: a fresh cluster on worker threads, every key written once, then for
 * each read ratio `runs` closed-loop windows of `clients` piscina load generators; throughput
 * counts the operations started after the warm-up (the first window's) or the ramp (the others')
 * that completed by the end.
 */
export async function runKvBench(
  config: KvBenchConfig,
  progress: (what: string) => void,
): Promise<KvBenchRow[]> {
  const rows: KvBenchRow[] = [];
  const generators = new LoadGenerators<KvLoadParams, KvLoadResult>(TASK, config.clients);
  try {
    for (const replicas of config.replicas) {
      const cluster = await ThreadCluster.start({
        replicas,
        clients: config.clients,
        model: 'synch',
      });
      try {
        await cluster.ready();
        const ids = Array.from({ length: config.clients }, (_, i) => replicas + i);
        const base = {
          replicas,
          keys: config.keys,
          valueBytes: config.valueBytes,
          window: config.window,
          timeoutMs: 5000,
        };
        progress(`${replicas} replicas: writing ${config.keys} keys`);
        const per = Math.ceil(config.keys / config.clients);
        await generators.run(cluster.runtime, ids, (id) => ({
          ...base,
          client: id - replicas,
          readRatio: 0,
          seed: config.seed,
          startAtMs: 0,
          endAtMs: 0,
          preloadFrom: (id - replicas) * per,
          preloadTo: Math.min(config.keys, (id - replicas + 1) * per),
        }));
        for (const readRatio of config.readRatios) {
          const windows: KvWindow[] = [];
          for (let run = 1; run <= config.runs; run++) {
            const what = `${replicas} replicas, ${readRatio * 100}% reads, run ${run}/${config.runs}`;
            const leadMs = windowLeadMs(config, run);
            progress(`${what}: ${leadMs} ms not counted, then ${config.durationMs} ms`);
            const startAtMs = sharedClockMs() + leadMs;
            const endAtMs = startAtMs + config.durationMs;
            const cpuUs = cpuBetween(startAtMs, endAtMs);
            const results = await generators.run(cluster.runtime, ids, (id) => ({
              ...base,
              client: id - replicas,
              readRatio,
              seed: config.seed * 100 + id + (run - 1) * 10_000,
              startAtMs,
              endAtMs,
            }));
            const window = summarize(replicas, readRatio, config, results, await cpuUs);
            windows.push(window);
            progress(`${what}: ${window.opsPerSec} ops/s, ${window.cpuUsPerOp} us CPU/op`);
          }
          rows.push(medianRow(windows));
        }
      } finally {
        await cluster.shutdown();
      }
    }
  } finally {
    await generators.destroy();
  }
  return rows;
}

/**
 * CPU microseconds the process (all its threads) spends between two shared-clock times: ops/s
 * on a shared machine moves with whatever else runs, CPU per operation much less.
 */
function cpuBetween(startAtMs: number, endAtMs: number): Promise<number> {
  return new Promise((resolve) => {
    let start: NodeJS.CpuUsage | undefined;
    setTimeout(
      () => {
        start = process.cpuUsage();
      },
      Math.max(0, startAtMs - sharedClockMs()),
    );
    setTimeout(
      () => {
        const used = process.cpuUsage(start);
        resolve(used.user + used.system);
      },
      Math.max(0, endAtMs - sharedClockMs()),
    );
  });
}

/** The median window by ops/s (the lower middle one of an even count), with the spread of all. */
function medianRow(windows: KvWindow[]): KvBenchRow {
  const sorted = [...windows].sort((a, b) => a.opsPerSec - b.opsPerSec);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] as KvWindow;
  return {
    ...median,
    runs: windows.length,
    opsPerSecMin: (sorted[0] as KvWindow).opsPerSec,
    opsPerSecMax: (sorted[sorted.length - 1] as KvWindow).opsPerSec,
  };
}

function summarize(
  replicas: number,
  readRatio: number,
  config: KvBenchConfig,
  results: KvLoadResult[],
  cpuUs: number,
): KvWindow {
  const t = totalLoad(results);
  return {
    replicas,
    readRatio,
    keys: config.keys,
    opsPerSec: Math.round(t.ops / (config.durationMs / 1000)),
    p50Us: t.p50Us,
    p99Us: t.p99Us,
    errors: t.errors,
    cpuUsPerOp: t.ops === 0 ? 0 : Math.round((cpuUs / t.ops) * 10) / 10,
    opsByReplica: t.opsByReplica,
  };
}
