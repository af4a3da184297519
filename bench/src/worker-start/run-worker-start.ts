import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkerStart } from '@heal/actors/threads';
import { HEAL_REPLICA_MODULE } from '@heal/heal/replica-module';
import { ThreadCluster } from '@heal/kv/threads';
import type {
  WorkerStartConfig,
  WorkerStartMedium,
  WorkerStartMode,
  WorkerStartRow,
} from './config.js';

/** Records of a pmem table beyond the dataset. */
const PMEM_HEADROOM_RECORDS = 4096;
const PMEM_VALUE_BYTES_MIN = 64;
/** The replica crashed and restarted in every cycle. */
const VICTIM = 1;
/** A cluster must be one view with leases, and a restarted replica serve again, within this long. */
const READY_LIMIT_MS = 120_000;

/** The nearest-rank quantile `q` of `values`. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

/** To 0.01 ms: an in-place load takes a fraction of a millisecond. */
const round = (ms: number): number => Math.round(ms * 100) / 100;

/**
 * For each dataset size, medium and mode: a fresh cluster of HEAL replicas on worker threads,
 * ready, then `restarts` times: crash replica 1, wait `outageMs`, restart it (the measured part:
 * ThreadCluster.restart's WorkerStart), and wait until it serves reads again.
 */
export async function runWorkerStartBench(
  config: WorkerStartConfig,
  progress: (what: string) => void,
): Promise<WorkerStartRow[]> {
  const rows: WorkerStartRow[] = [];
  for (const keys of config.keys) {
    for (const medium of config.media) {
      for (const mode of config.modes) {
        const label = `${medium}, ${keys} keys, ${mode}`;
        progress(`${label}: starting ${config.replicas} replicas`);
        const dir = mkdtempSync(join(config.dataDir, `heal-worker-start-${medium}-`));
        try {
          rows.push(
            await measureRow(config, medium, keys, mode, dir, (what) =>
              progress(`${label}: ${what}`),
            ),
          );
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  }
  return rows;
}

async function measureRow(
  config: WorkerStartConfig,
  medium: WorkerStartMedium,
  keys: number,
  mode: WorkerStartMode,
  dataDir: string,
  progress: (what: string) => void,
): Promise<WorkerStartRow> {
  const cluster = await ThreadCluster.start({
    replicas: config.replicas,
    clients: 0,
    module: HEAL_REPLICA_MODULE,
    strategy: 'heal',
    medium,
    dataDir,
    dataset: { keys, valueSizes: { bytes: [config.valueBytes], weights: [1] } },
    pmemCapacity: keys + PMEM_HEADROOM_RECORDS,
    pmemValueBytesMax: Math.max(PMEM_VALUE_BYTES_MIN, config.valueBytes),
    spareWorkers: mode === 'spare',
    seed: config.seed,
  });
  try {
    await cluster.ready(READY_LIMIT_MS);
    const starts: Restart[] = [];
    for (let i = 0; i < config.restarts; i++) {
      await cluster.crash(VICTIM);
      await sleep(config.outageMs);
      const start = await cluster.restart(VICTIM);
      const report = await cluster.recover(VICTIM, READY_LIMIT_MS);
      const { actor } = await cluster.stats(VICTIM);
      starts.push({
        start,
        loadMs: report.phasesMs['load'] ?? 0,
        snapshotMs: actor['medium.snapshotMs'],
        logTailMs: actor['medium.logMs'],
      });
      progress(
        `restart ${i + 1}/${config.restarts}: ${round(start.startedMs - start.requestedMs)} ms`,
      );
    }
    return summarize(medium, keys, mode, starts);
  } finally {
    await cluster.shutdown();
  }
}

/** One restart: the worker's marks, the replica's load phase, and (wal) its medium's open split. */
interface Restart {
  start: WorkerStart;
  loadMs: number;
  snapshotMs: number | undefined;
  logTailMs: number | undefined;
}

function summarize(
  medium: WorkerStartMedium,
  keys: number,
  mode: WorkerStartMode,
  starts: readonly Restart[],
): WorkerStartRow {
  const median = (f: (s: WorkerStart, loadMs: number) => number): number =>
    round(
      quantile(
        starts.map((s) => f(s.start, s.loadMs)),
        0.5,
      ),
    );
  const split = (f: (s: Restart) => number | undefined): number | undefined => {
    const values = starts.map(f);
    return values.every((v) => v !== undefined)
      ? round(quantile(values as number[], 0.5))
      : undefined;
  };
  const snapshotMs = split((s) => s.snapshotMs);
  const logTailMs = split((s) => s.logTailMs);
  const workerStartsMs = starts.map(({ start: s }) => round(s.startedMs - s.requestedMs));
  return {
    medium,
    keys,
    mode,
    restarts: starts.length,
    workerStartMs: round(quantile(workerStartsMs, 0.5)),
    workerStartP90Ms: round(quantile(workerStartsMs, 0.9)),
    bootMs: median((s) => s.scriptMs - s.spawnMs),
    importMs: median((s) => s.importedMs - s.scriptMs),
    assignMs: median((s) => s.assignedMs - Math.max(s.importedMs, s.requestedMs)),
    mediumOpenMs: median((s) => s.storageMs - s.assignedMs),
    replicaStartMs: median((s) => s.startedMs - s.storageMs),
    loadMs: median((_, loadMs) => loadMs),
    ...(snapshotMs !== undefined ? { snapshotMs } : {}),
    ...(logTailMs !== undefined ? { logTailMs } : {}),
    restartCallMs: median((s) => s.readyMs - s.requestedMs),
    workerStartsMs,
  };
}
