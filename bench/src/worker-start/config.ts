import type { ReplicaConfig } from '@heal/kv/replica';

export const WORKER_START_MEDIA = [
  'volatile',
  'wal',
  'pmem',
] as const satisfies readonly ReplicaConfig['medium'][];
export type WorkerStartMedium = (typeof WORKER_START_MEDIA)[number];
/** `spare`: the runtime booted the replica's next worker while it was down; `cold`: restart creates it. */
export const WORKER_START_MODES = ['spare', 'cold'] as const;
export type WorkerStartMode = (typeof WORKER_START_MODES)[number];

export interface WorkerStartConfig {
  media: WorkerStartMedium[];
  modes: WorkerStartMode[];
  /** Dataset sizes: every replica starts with this many keys on its medium. */
  keys: number[];
  valueBytes: number;
  replicas: number;
  /** Crash-and-restart cycles per row. */
  restarts: number;
  /** From the crash to the restart call. */
  outageMs: number;
  seed: number;
  dataDir: string;
}

/** One medium, dataset size and mode: medians (and the p90 of the whole) over its restarts, in ms. */
export interface WorkerStartRow {
  medium: WorkerStartMedium;
  keys: number;
  mode: WorkerStartMode;
  restarts: number;
  /** From the restart call to the replica's `start` having returned (medium opened and loaded). */
  workerStartMs: number;
  workerStartP90Ms: number;
  /** Worker created to its script running (before the restart, for a spare). */
  bootMs: number;
  /** The worker script to the replica module imported (before the restart, for a spare). */
  importMs: number;
  /** The restart call, or the import if it ended later, to the assignment arriving in the worker. */
  assignMs: number;
  /** The assignment to `createStorage` returned: the medium opened. */
  mediumOpenMs: number;
  /** `createStorage` to `createActor` and `start` returned; includes `loadMs`. */
  replicaStartMs: number;
  /** The replica's load phase: what the medium kept, read into the replica (its recovery report's `load`). */
  loadMs: number;
  /** wal: the medium's open split into reading its checkpoint (snapshot) and replaying its log tail. */
  snapshotMs?: number;
  logTailMs?: number;
  /** What `restart()` took: the restart call to the runtime receiving the worker's ready message. */
  restartCallMs: number;
  /** Every restart's workerStartMs, in order. */
  workerStartsMs: number[];
}
