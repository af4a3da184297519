import { COMPARED_STRATEGIES, RUNNABLE_STRATEGIES } from '@heal/heal/replica-module';
import { THREAD_TIMING, type PersistencyModel } from '@heal/kv/replica';
import type { WorkloadName } from '../workloads/index.js';

/** Throughput is counted in buckets of this many ms. */
export const BUCKET_MS = 10;

/** The strategies the experiment compares, HEAL first (ratios are against it). */
export const EXPERIMENT_STRATEGIES = COMPARED_STRATEGIES;
/** What `--strategy` may name: also leader-incremental with the shared budget. */
export const EXPERIMENT_STRATEGY_NAMES = RUNNABLE_STRATEGIES;

export const EXPERIMENT_MEDIA = ['volatile', 'wal', 'pmem'] as const;

/** One recovery experiment: the same cluster, dataset, workload and failure for every strategy. */
export interface ExperimentConfig {
  /** Run in this order, a fresh cluster each; ratios are against 'heal' when it is among them. */
  strategies: string[];
  replicas: number;
  workload: WorkloadName;
  /** Dataset size: keys `k0..k{keys-1}`, preloaded on every replica. */
  keys: number;
  /** Value size of the dataset and of every write; absent: the workload's own. */
  valueBytes?: number;
  model: PersistencyModel;
  medium: (typeof EXPERIMENT_MEDIA)[number];
  /** The pmem medium's Optane flush/fence latency model (ignored by the other media). */
  pmemLatency: boolean;
  /** Load before the steady window (not measured). */
  warmupMs: number;
  /** The steady window right before the failure: degradation's baseline. */
  steadyMs: number;
  /** How long the victim stays down. */
  outageMs: number;
  /** Load after the victim serves reads again. */
  tailMs: number;
  /** The replica that fails. */
  victim: number;
  /** Closed-loop load generators (piscina tasks), one KvClient each. */
  clients: number;
  /** Operations each client keeps in flight (closed loop), or at most (open loop). */
  window: number;
  /**
   * Open loop: the clients together issue this many operations per second on a schedule,
   * whether or not earlier ones answered (each client at most `window` outstanding; the rest
   * are shed and counted). Absent: closed loop.
   */
  targetOpsPerSec?: number;
  /**
   * Silence after which a replica suspects another, at least (the protocol's suspicionMs; the
   * other timeouts are the thread runtime's defaults). It bounds how long the others take to
   * notice the crash.
   */
  suspicionMs: number;
  /** A client operation without an answer after this long fails (and its replica is avoided for a while). */
  clientTimeoutMs: number;
  /** Byte budget of every strategy's recovery buffer (the same for all). */
  bufferBytes: number;
  /** The run fails if the victim does not serve reads this long after its restart. */
  recoveryLimitMs: number;
  seed: number;
  /** Parent of each run's own directory for the file-backed media. */
  dataDir: string;
}

/**
 * The quick-start scenario: 6 replicas, TAOBench-like, pmem with the latency model,
 * Synch; sized to take about a minute for the three strategies on a 2-core machine. The outage
 * outlasts the suspicion timeout and the view change that removes the failed replica.
 */
export const DEMO_EXPERIMENT: Omit<ExperimentConfig, 'dataDir'> = {
  strategies: [...EXPERIMENT_STRATEGIES],
  replicas: 6,
  workload: 'taobench',
  keys: 50_000,
  model: 'synch',
  medium: 'pmem',
  pmemLatency: true,
  warmupMs: 2000,
  steadyMs: 2000,
  outageMs: 3000,
  tailMs: 1000,
  victim: 1,
  clients: 2,
  window: 16,
  suspicionMs: THREAD_TIMING.suspicionMs,
  clientTimeoutMs: 500,
  bufferBytes: 64 << 20,
  recoveryLimitMs: 300_000,
  seed: 1,
};
