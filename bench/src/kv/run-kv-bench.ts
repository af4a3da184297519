import { LoadGenerators, sharedClockMs } from '@heal/actors';
import { ThreadCluster } from '@heal/kv';
import type { LoadConfig } from './load-config.js';
import { totalLoad } from './load-results.js';
import type { KvLoadParams, KvLoadResult } from './kv-load-task.js';

export interface KvBenchConfig extends LoadConfig {
  replicas: number[];
  readRatios: number[];
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
}

const TASK = new URL('./kv-load-task.js', import.meta.url);

/**
 * For each replica count: a fresh cluster on worker threads, every key written once, then for
 * each read ratio a closed-loop run of `clients` piscina load generators; throughput counts the
 * operations started after the warm-up that completed by the end.
 */
export async function runKvBench(config: KvBenchConfig, progress: (what: string) => void): Promise<KvBenchRow[]> {
  const rows: KvBenchRow[] = [];
  const generators = new LoadGenerators<KvLoadParams, KvLoadResult>(TASK, config.clients);
  try {
    for (const replicas of config.replicas) {
      const cluster = await ThreadCluster.start({ replicas, clients: config.clients, model: 'synch' });
      try {
        await cluster.ready();
        const ids = Array.from({ length: config.clients }, (_, i) => replicas + i);
        const base = { replicas, keys: config.keys, valueBytes: config.valueBytes, window: config.window, timeoutMs: 5000 };
        progress(`${replicas} replicas: writing ${config.keys} keys`);
        const per = Math.ceil(config.keys / config.clients);
        await generators.run(cluster.runtime, ids, (id) => ({
          ...base, readRatio: 0, seed: config.seed, startAtMs: 0, endAtMs: 0,
          preloadFrom: (id - replicas) * per, preloadTo: Math.min(config.keys, (id - replicas + 1) * per),
        }));
        for (const readRatio of config.readRatios) {
          progress(`${replicas} replicas, ${readRatio * 100}% reads: ${config.durationMs} ms`);
          const startAtMs = sharedClockMs() + config.warmupMs;
          const endAtMs = startAtMs + config.durationMs;
          const cpuUs = cpuBetween(startAtMs, endAtMs);
          const results = await generators.run(cluster.runtime, ids, (id) => ({
            ...base, readRatio, seed: config.seed * 100 + id, startAtMs, endAtMs,
          }));
          rows.push(summarize(replicas, readRatio, config, results, await cpuUs));
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
    setTimeout(() => { start = process.cpuUsage(); }, Math.max(0, startAtMs - sharedClockMs()));
    setTimeout(() => {
      const used = process.cpuUsage(start);
      resolve(used.user + used.system);
    }, Math.max(0, endAtMs - sharedClockMs()));
  });
}

function summarize(replicas: number, readRatio: number, config: KvBenchConfig, results: KvLoadResult[], cpuUs: number): KvBenchRow {
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
  };
}
