import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadGenerators, sharedClockMs } from '@heal/actors';
import { ThreadCluster, type PersistencyModel } from '@heal/kv';
import type { LoadConfig } from '../kv/load-config.js';
import { totalLoad } from '../kv/load-results.js';
import type { KvLoadParams, KvLoadResult } from '../kv/kv-load-task.js';

export type ModelsMedium = 'volatile' | 'wal' | 'pmem';

export interface ModelsBenchConfig extends LoadConfig {
  models: PersistencyModel[];
  media: ModelsMedium[];
  replicas: number[];
  /** Runs of each configuration (in rotated order); a row reports the median of each metric. */
  repeat: number;
  /** Where the wal and pmem files go (a fresh directory per run under it). */
  dataDir: string;
}

export interface ModelsBenchRow {
  model: PersistencyModel;
  medium: ModelsMedium;
  replicas: number;
  /** pmem's persist-cost model (Optane flush and fence latencies); always false for the others. */
  latencyModel: boolean;
  writesPerSec: number;
  p50Us: number;
  p99Us: number;
  errors: number;
}

/** A configuration to measure: a row without its numbers. */
export type Run = Omit<ModelsBenchRow, 'writesPerSec' | 'p50Us' | 'p99Us' | 'errors'>;

/** How long a fresh cluster may take to install its view and grant every replica a lease. */
export const READY_LIMIT_MS = 60_000;

const TASK = new URL('../kv/kv-load-task.js', import.meta.url);

/** The runs: every replicas x medium x model, pmem with its persist-cost model off and on. */
export function plan(config: ModelsBenchConfig): Run[] {
  const runs: Run[] = [];
  for (const replicas of config.replicas) {
    for (const medium of config.media) {
      for (const latencyModel of medium === 'pmem' ? [false, true] : [false]) {
        for (const model of config.models) runs.push({ model, medium, replicas, latencyModel });
      }
    }
  }
  return runs;
}

/**
 * Every configuration `repeat` times, each round in a rotated order (so a burst of load from
 * elsewhere on the machine does not hit the same configurations every round); a row is the
 * median of each metric over its runs.
 */
export async function runModelsBench(config: ModelsBenchConfig, progress: (what: string) => void): Promise<ModelsBenchRow[]> {
  const runs = plan(config);
  const samples: ModelsBenchRow[][] = runs.map(() => []);
  const generators = new LoadGenerators<KvLoadParams, KvLoadResult>(TASK, config.clients);
  try {
    for (let round = 0; round < config.repeat; round++) {
      const shift = Math.floor((round * runs.length) / config.repeat);
      for (let i = 0; i < runs.length; i++) {
        const index = (i + shift) % runs.length;
        const run = runs[index] as Run;
        progress(`round ${round + 1}/${config.repeat}: ${describe(run)}: ${config.durationMs} ms`);
        (samples[index] as ModelsBenchRow[]).push(await runOne(run, config, generators));
      }
    }
  } finally {
    await generators.destroy();
  }
  return runs.map((run, i) => median(run, samples[i] as ModelsBenchRow[]));
}

function describe(run: Run): string {
  return `${run.model} on ${run.medium}${run.medium === 'pmem' ? ` (latency model ${run.latencyModel ? 'on' : 'off'})` : ''}, ${run.replicas} replicas`;
}

function median(run: Run, rows: ModelsBenchRow[]): ModelsBenchRow {
  const mid = (f: (r: ModelsBenchRow) => number): number => {
    const sorted = rows.map(f).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] as number;
  };
  return { ...run, writesPerSec: mid((r) => r.writesPerSec), p50Us: mid((r) => r.p50Us), p99Us: mid((r) => r.p99Us), errors: mid((r) => r.errors) };
}

/**
 * One run: a fresh cluster on worker threads with the model and medium (files in a fresh
 * directory), then a closed-loop write-only load of `clients` piscina generators; throughput
 * counts the writes started after the warm-up that completed by the end.
 */
async function runOne(run: Run, config: ModelsBenchConfig, generators: LoadGenerators<KvLoadParams, KvLoadResult>): Promise<ModelsBenchRow> {
  const dataDir = mkdtempSync(join(config.dataDir, `heal-models-${run.model}-${run.medium}-`));
  const cluster = await ThreadCluster.start({
    replicas: run.replicas, clients: config.clients, model: run.model, medium: run.medium, dataDir,
    pmemLatency: run.latencyModel, pmemCapacity: Math.max(1024, config.keys * 2),
  });
  try {
    // On a loaded 2-core machine six replicas may need long for their first leases.
    await cluster.ready(READY_LIMIT_MS);
    const ids = Array.from({ length: config.clients }, (_, i) => run.replicas + i);
    const startAtMs = sharedClockMs() + config.warmupMs;
    const endAtMs = startAtMs + config.durationMs;
    const results = await generators.run(cluster.runtime, ids, (id) => ({
      replicas: run.replicas, keys: config.keys, valueBytes: config.valueBytes, window: config.window, timeoutMs: 5000,
      readRatio: 0, seed: config.seed * 100 + id, startAtMs, endAtMs,
    }));
    return summarize(run, config, results);
  } finally {
    await cluster.shutdown();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function summarize(
  run: Run, config: ModelsBenchConfig, results: KvLoadResult[],
): ModelsBenchRow {
  const t = totalLoad(results);
  return {
    ...run,
    writesPerSec: Math.round(t.writes / (config.durationMs / 1000)),
    p50Us: t.p50Us,
    p99Us: t.p99Us,
    errors: t.errors,
  };
}

/** A default place for the media files: the OS temp directory (a real disk or tmpfs, as the machine has). */
export const DEFAULT_DATA_DIR = tmpdir();
