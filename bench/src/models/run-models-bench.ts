import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadGenerators } from '@heal/actors/load-generators';
import { sharedClockMs } from '@heal/actors/rings';
import type { PersistencyModel } from '@heal/kv/replica';
import { ThreadCluster } from '@heal/kv/threads';
import { windowLeadMs, type LoadConfig } from '../kv/load-config.js';
import { totalLoad } from '../kv/load-results.js';
import type { KvLoadParams, KvLoadResult } from '../kv/kv-load-task.js';

export type ModelsMedium = 'volatile' | 'wal' | 'pmem';

export interface ModelsBenchConfig extends LoadConfig {
  models: PersistencyModel[];
  media: ModelsMedium[];
  replicas: number[];
  /**
   * Measured windows of each configuration, one after the other on its cluster after the
   * warm-up; a row reports the median of each metric.
   */
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

/** Each configuration on a fresh cluster: the warm-up, then `repeat` windows; a row is their median. */
export async function runModelsBench(
  config: ModelsBenchConfig,
  progress: (what: string) => void,
): Promise<ModelsBenchRow[]> {
  const runs = plan(config);
  const rows: ModelsBenchRow[] = [];
  const generators = new LoadGenerators<KvLoadParams, KvLoadResult>(TASK, config.clients);
  try {
    for (const [i, run] of runs.entries()) {
      rows.push(
        median(
          run,
          await measure(
            run,
            `${i + 1}/${runs.length} ${describe(run)}`,
            config,
            generators,
            progress,
          ),
        ),
      );
    }
  } finally {
    await generators.destroy();
  }
  return rows;
}

function describe(run: Run): string {
  return `${run.model} on ${run.medium}${run.medium === 'pmem' ? ` (latency model ${run.latencyModel ? 'on' : 'off'})` : ''}, ${run.replicas} replicas`;
}

function median(run: Run, rows: ModelsBenchRow[]): ModelsBenchRow {
  const mid = (f: (r: ModelsBenchRow) => number): number => {
    const sorted = rows.map(f).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] as number;
  };
  return {
    ...run,
    writesPerSec: mid((r) => r.writesPerSec),
    p50Us: mid((r) => r.p50Us),
    p99Us: mid((r) => r.p99Us),
    errors: mid((r) => r.errors),
  };
}

/**
 * One configuration: a fresh cluster on worker threads with the model and medium (files in a
 * fresh directory), then `repeat` windows of a closed-loop write-only load of `clients` piscina
 * generators; writes/s counts the writes started in a window that completed by its end.
 */
async function measure(
  run: Run,
  what: string,
  config: ModelsBenchConfig,
  generators: LoadGenerators<KvLoadParams, KvLoadResult>,
  progress: (what: string) => void,
): Promise<ModelsBenchRow[]> {
  const dataDir = mkdtempSync(join(config.dataDir, `heal-models-${run.model}-${run.medium}-`));
  const cluster = await ThreadCluster.start({
    replicas: run.replicas,
    clients: config.clients,
    model: run.model,
    medium: run.medium,
    dataDir,
    pmemLatency: run.latencyModel,
    pmemCapacity: Math.max(1024, config.keys * 2),
  });
  try {
    // On a loaded 2-core machine six replicas may need long for their first leases.
    await cluster.ready(READY_LIMIT_MS);
    const ids = Array.from({ length: config.clients }, (_, i) => run.replicas + i);
    const windows: ModelsBenchRow[] = [];
    for (let window = 1; window <= config.repeat; window++) {
      const leadMs = windowLeadMs(config, window);
      const label = `${what}, window ${window}/${config.repeat}`;
      progress(`${label}: ${leadMs} ms not counted, then ${config.durationMs} ms`);
      const startAtMs = sharedClockMs() + leadMs;
      const endAtMs = startAtMs + config.durationMs;
      const results = await generators.run(cluster.runtime, ids, (id) => ({
        replicas: run.replicas,
        keys: config.keys,
        valueBytes: config.valueBytes,
        window: config.window,
        client: id - run.replicas,
        timeoutMs: 5000,
        readRatio: 0,
        seed: config.seed * 100 + id + (window - 1) * 10_000,
        startAtMs,
        endAtMs,
      }));
      const row = summarize(run, config, results);
      windows.push(row);
      progress(`${label}: ${row.writesPerSec} writes/s`);
    }
    return windows;
  } finally {
    await cluster.shutdown();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function summarize(run: Run, config: ModelsBenchConfig, results: KvLoadResult[]): ModelsBenchRow {
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
