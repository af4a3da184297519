import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { byteStringOf, type ActorContext } from '@heal/actors/core';
import { healReplicaModule } from '@heal/heal/replica-module';
import {
  createStorage,
  datasetKey,
  MemoryStorage,
  THREAD_TIMING,
  type KeyRecord,
  type KvStorage,
  type KvWire,
  type ReplicaConfig,
} from '@heal/kv/replica';
import type { MediumCosts } from '@heal/kv/sim';
import { cpuNs, nowNs } from './clock.js';
import { fitAcrossRuns, fitLinear, median, roundFit, Samples, type LinearFit } from './fit.js';
import { timedStorage } from './timed-storage.js';

/** The media a profile holds costs for (memory-durable: a test medium, charged like volatile's writes). */
export const CALIBRATED_MEDIA = ['volatile', 'memory-durable', 'wal', 'pmem'] as const;
export type CalibratedMedium = (typeof CALIBRATED_MEDIA)[number];

export interface MediaPlan {
  /** Dataset sizes the open fit and the reads use (two or more). */
  loadRecords: readonly number[];
  /** Writes timed per value size. */
  writes: number;
  /** Times each measurement is repeated (medians across them). */
  runs: number;
  /** pmem's Optane latency model on (as the thread runtime runs by default). */
  pmemLatency: boolean;
}

/** Writes timed together (one clock read per batch: a single write is near the clock's own cost). */
const WRITE_BATCH = 32;
const WRITE_VALUE_BYTES = [16, 400] as const;
const SYNC_RECORDS = [1, 4, 16, 64, 256] as const;
const SYNC_REPEATS = 20;
const SAVE_REPEATS = 40;
const LOAD_VALUE_BYTES = 150;
/** pmem's largest value: room for the biggest write measured. */
const PMEM_VALUE_BYTES_MAX = 512;

const record = (i: number, value: string, seq: number): KeyRecord => ({
  key: datasetKey(i),
  ts: { version: 2, cid: 0 },
  value: byteStringOf(Buffer.from(value)),
  state: 'valid',
  origin: 0,
  seq,
});

function config(
  medium: CalibratedMedium,
  dir: string,
  capacity: number,
  plan: MediaPlan,
): ReplicaConfig {
  return {
    replicas: 1,
    timing: THREAD_TIMING,
    strategy: 'heal',
    medium,
    dataDir: dir,
    pmemCapacity: capacity,
    pmemValueBytesMax: PMEM_VALUE_BYTES_MAX,
    pmemLatency: plan.pmemLatency,
    pmemCrashSimulation: false,
  };
}

/** One run's fits of one medium. */
interface MediumRun {
  write: LinearFit;
  sync: LinearFit;
  saveNs: number;
  openRead: OpenRead;
}

function measureOnce(
  medium: CalibratedMedium,
  root: string,
  plan: MediaPlan,
  run: number,
): MediumRun {
  const capacity = Math.max(...plan.loadRecords) + plan.writes + 4096;
  const dir = mkdtempSync(join(root, `${medium}-${run}-`));
  try {
    const storage = createStorage(0, config(medium, dir, capacity, plan));
    let seq = 1;
    // Writes, per value size, in batches; a sync every so often (untimed) as the replica makes them.
    const writes = new Samples();
    for (const bytes of WRITE_VALUE_BYTES) {
      const value = 'w'.repeat(bytes);
      for (let i = 0; i < plan.writes; i += WRITE_BATCH) {
        const batch = Array.from({ length: WRITE_BATCH }, (_, j) => record(i + j, value, seq++));
        const t0 = nowNs();
        for (const r of batch) storage.write(r);
        writes.add(datasetKey(i).length + bytes, (nowNs() - t0) / WRITE_BATCH);
        if (i % 256 === 0) storage.sync();
      }
      storage.sync();
    }
    // A sync after k writes: per call and per record written since the last one.
    const syncs = new Samples();
    const value = 'x'.repeat(100);
    for (let rep = 0; rep < SYNC_REPEATS; rep++) {
      for (const k of SYNC_RECORDS) {
        for (let j = 0; j < k; j++) storage.write(record(j + rep * 7, value, seq++));
        const t0 = nowNs();
        storage.sync();
        syncs.add(k, nowNs() - t0);
      }
    }
    const saves: number[] = [];
    for (let i = 0; i < SAVE_REPEATS; i++) {
      const t0 = nowNs();
      if (i % 2 === 0) storage.saveEpoch(10 + i);
      else storage.saveSeqHighWater(1_000_000 * (i + 1));
      saves.push(nowNs() - t0);
    }
    storage.close();
    return {
      write: fitLinear(writes),
      sync: fitLinear(syncs),
      saveNs: median(saves),
      openRead: measureOpenRead(medium, root, plan, run),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Opening a medium and reading its records in place, in CPU time. */
interface OpenRead {
  /** Opening a medium of n records (`ns` fixed, `nsPerByte`: per record held). */
  open: LinearFit;
  /** A `get` of one record of it, as a replica reads a cold one (`ns`), median over the sizes. */
  readNs: number;
}

/**
 * Opening a medium holding n records, as a replica's start does (open, count, list what is not
 * Valid, the digest it keeps), then a `get` of each record, in CPU time, for each size of the plan.
 */
function measureOpenRead(
  medium: CalibratedMedium,
  root: string,
  plan: MediaPlan,
  run: number,
): OpenRead {
  const opens = new Samples();
  const reads: number[] = [];
  if (medium === 'volatile') return { open: { ns: 0, nsPerByte: 0, samples: 0 }, readNs: 0 };
  for (const n of plan.loadRecords) {
    const dir = mkdtempSync(join(root, `${medium}-open-${run}-`));
    try {
      const cfg = config(medium, dir, n + 4096, plan);
      const value = 'l'.repeat(LOAD_VALUE_BYTES);
      // memory-durable keeps its records in the object: reopening is using it again.
      const filled = createStorage(0, cfg);
      for (let i = 0; i < n; i++) {
        filled.write(record(i, value, i + 1));
        if (i % 1024 === 1023) filled.sync();
      }
      filled.sync();
      if (medium !== 'memory-durable') filled.close();
      for (let rep = 0; rep < 2; rep++) {
        const t0 = cpuNs();
        const storage = medium === 'memory-durable' ? filled : createStorage(0, cfg);
        const held = storage.size - storage.notValid().length;
        storage.loadDigest();
        const t1 = cpuNs();
        opens.add(held, t1 - t0);
        let found = 0;
        for (let i = 0; i < n; i++) if (storage.get(datasetKey(i)) !== undefined) found++;
        reads.push((cpuNs() - t1) / Math.max(1, found));
        if (medium !== 'memory-durable') storage.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { open: fitLinear(opens), readNs: median(reads) };
}

/** Each medium's costs on this machine: medians over `plan.runs` runs of each measurement. */
export function measureMedia(
  root: string,
  plan: MediaPlan,
  progress: (what: string) => void,
): Record<CalibratedMedium, MediumCosts> {
  const out = {} as Record<CalibratedMedium, MediumCosts>;
  for (const medium of CALIBRATED_MEDIA) {
    progress(`medium ${medium}`);
    const runs = Array.from({ length: plan.runs }, (_, run) =>
      measureOnce(medium, root, plan, run),
    );
    const sync = fitAcrossRuns(runs.map((r) => r.sync));
    const open = fitAcrossRuns(runs.map((r) => r.openRead.open));
    out[medium] = {
      openNs: Math.round(Math.max(0, open.ns)),
      openNsPerRecord: Math.round(Math.max(0, open.nsPerByte) * 10) / 10,
      read: { ns: Math.round(median(runs.map((r) => r.openRead.readNs)) * 10) / 10, nsPerByte: 0 },
      write: roundFit(fitAcrossRuns(runs.map((r) => r.write))),
      sync: {
        ns: Math.round(sync.ns),
        nsPerRecord: Math.round(sync.nsPerByte * 10) / 10,
        nsPerByte: 0,
      },
      saveNs: Math.round(median(runs.map((r) => r.saveNs))),
    };
  }
  return out;
}

/** A replica's start from a medium of n records: its fixed cost and its cost per record, per strategy. */
export interface StartCosts {
  startNs: number;
  startRecordNs: Record<string, number>;
}

const noop = (): void => {};

/**
 * Starts a real replica (the heal module, each strategy) on a memory-durable medium holding n
 * dataset records, as a restart does, and times `start` less the medium's own time: what the
 * replica's start does per record on its medium (it reads them in place as they are touched).
 */
export function measureStart(
  strategies: readonly string[],
  sizes: readonly number[],
  runs: number,
): StartCosts {
  const perStrategy: Record<string, number> = {};
  const fixed: number[] = [];
  for (const strategy of strategies) {
    const fits: LinearFit[] = [];
    for (let run = 0; run < runs; run++) {
      const samples = new Samples();
      for (const n of sizes) {
        const medium = new MemoryStorage(true);
        const value = 'v'.repeat(LOAD_VALUE_BYTES);
        for (let i = 0; i < n; i++) medium.write(record(i, value, i + 1));
        medium.sync();
        const config: ReplicaConfig = {
          replicas: 6,
          timing: THREAD_TIMING,
          strategy,
          medium: 'memory-durable',
        };
        let storageNs = 0;
        const timed = timedStorage(medium, cpuNs, (ns) => {
          storageNs += ns;
        });
        const ctx: ActorContext<KvWire, KvStorage> = {
          self: 0,
          incarnation: 1,
          storage: timed,
          now: () => 0,
          cpuMs: () => NaN,
          random: () => 0.5,
          send: noop,
          setTimer: () => 0,
          cancelTimer: noop,
        };
        const actor = healReplicaModule.createActor(0, config);
        const t0 = cpuNs();
        actor.start(ctx);
        samples.add(n, cpuNs() - t0 - storageNs);
      }
      fits.push(fitLinear(samples));
    }
    const fit = fitAcrossRuns(fits);
    perStrategy[strategy] = Math.round(Math.max(0, fit.nsPerByte) * 10) / 10;
    fixed.push(fit.ns);
  }
  return { startNs: Math.round(Math.max(0, median(fixed))), startRecordNs: perStrategy };
}
