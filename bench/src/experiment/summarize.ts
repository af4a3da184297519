import type { ActorId } from '@heal/actors/core';
import { datasetKey, RECORD_WIRE_OVERHEAD_BYTES, type RecoveryReport } from '@heal/kv/replica';
import { latencyPercentileUs, mergeLatencies } from '../demo/histogram.js';
import type { RecoveryRowFields } from '../report/recovery-row.js';
import type { ExperimentLoadResult } from './client-load.js';
import { BUCKET_MS } from './config.js';
import { bucketSpan, degradation, meanOpsPerSec, sumBuckets, type Window } from './metrics.js';
import { failureMs, viewChanges, type ViewInstall } from './view-timeline.js';

/** A run's results, as either runtime measures them. */

/** Times of one run on the runtime's clock (threads: the shared clock; the simulator: virtual ms). */
export interface RunMarks {
  /** Bucket 0 starts here: the load generators were launched. */
  originMs: number;
  steadyFromMs: number;
  crashMs: number;
  /** The driver asked for the restart: a new worker thread is spawned. */
  restartCalledMs: number;
  /** The restarted replica began (its recovery clock starts), as its report states on the shared clock. */
  restartMs: number;
  /** restartMs + recoveryMs. */
  servingReadsMs: number;
  stopMs: number;
}

/** One strategy's crash and recovery under load (the field names of recovery-row.ts). */
export interface StrategyRun extends RecoveryRowFields {
  runtime: 'threads' | 'sim';
  /** From the crash to the first view installed without the victim (null: none was). */
  failureMs: number | null;
  /** 1 - mean(throughput from the crash to the restart) / steady, 10 ms buckets. */
  outageDegradation: number;
  /** Views installed during the warm-up and the steady window, with no fault: 0 expected. */
  steadyViewChanges: number;
  /**
   * The longest recent silence any replica observed from another at the end (their failure
   * detectors suspect after max(suspicionMs, 2 x this)): how much scheduling delay the run saw.
   */
  peakSilenceMs: number;
  /** Every view installed from the load's launch on: epoch, first install (ms from the launch), members. */
  views: ViewInstall[];
  degradation: number;
  steadyOpsPerSec: number;
  recoveryOpsPerSec: number;
  /** Mean ops/s over the outage's second half (after the view change that removes the failed replica). */
  lateOutageOpsPerSec: number;
  /** Mean ops/s while the new worker thread was spawned and opened the medium (before its recovery clock starts). */
  workerStartOpsPerSec: number;
  /** Mean ops/s during each phase of the recovery (over the buckets it overlaps when it holds no whole one). */
  phaseOpsPerSec: Record<string, number>;
  tailOpsPerSec: number;
  recoveryBuckets: number;
  recoveryWindow: 'contained' | 'overlapping';
  /** Clusters started until one kept its first view while starting (see startCluster). */
  clusterStarts: number;
  /** The epoch of the cluster that ran once it was ready: 1 unless views changed while it started. */
  startEpoch: number;
  /** Starting the cluster that ran until it was one view with leases (dataset written to every replica's medium). */
  clusterStartMs: number;
  /** From the restart call to the new worker's replica loaded and running (thread spawn, imports, medium opened, load). */
  workerStartMs: number;
  /**
   * Threads: what the restarted replica's worker ran before it took the replica (a spare warms
   * the replica's code on a scratch cluster while the replica is down; null: it did not).
   */
  restartWarmUp: unknown;
  operations: number;
  failed: number;
  timeouts: number;
  /** Open loop: scheduled operations not issued because a client had `window` outstanding. */
  shed: number;
  steadyP50Us: number;
  steadyP99Us: number;
  afterCrashP99Us: number;
  /** Times relative to `marksMs.originMs`'s own value (0 = load launched). */
  marksMs: Omit<RunMarks, 'originMs'>;
  /** Completed operations per BUCKET_MS bucket from the load's launch (all clients). */
  opsPerBucket: number[];
  bucketMs: number;
}

/** A strategy's row from what its run measured. */
export function summarize(
  runtime: StrategyRun['runtime'],
  strategy: string,
  report: RecoveryReport,
  results: readonly ExperimentLoadResult[],
  missedWrites: number,
  setup: {
    clusterStarts: number;
    startEpoch: number;
    clusterStartMs: number;
    workerStartMs: number;
    restartWarmUp?: unknown;
    views: ViewInstall[];
    victim: ActorId;
    peakSilenceMs: number;
  },
  m: RunMarks,
): StrategyRun {
  const perBucket = sumBuckets(results.map((r) => r.completedPerBucket));
  const steady: Window = { fromMs: m.steadyFromMs, toMs: m.crashMs };
  const d = degradation(perBucket, m.originMs, BUCKET_MS, steady, {
    fromMs: m.restartMs,
    toMs: m.servingReadsMs,
  });
  const outage = degradation(perBucket, m.originMs, BUCKET_MS, steady, {
    fromMs: m.crashMs,
    toMs: m.restartMs,
  });
  const failure = failureMs(setup.views, setup.victim, m.crashMs);
  const rate = (w: Window): number =>
    meanOpsPerSec(perBucket, bucketSpan(w, m.originMs, BUCKET_MS), BUCKET_MS);
  // A key is missed when a put of it ended after the crash but began before the restart.
  const missed = new Map<number, number>();
  for (const r of results) {
    r.crashWrites.keys.forEach((key, i) => {
      if ((r.crashWrites.firstIssueMs[i] as number) < m.restartMs)
        missed.set(key, r.crashWrites.valueBytes[i] as number);
    });
  }
  let missedBytes = 0;
  for (const [key, valueBytes] of missed)
    missedBytes += Buffer.byteLength(datasetKey(key)) + valueBytes + RECORD_WIRE_OVERHEAD_BYTES;
  const steadyLatency = mergeLatencies(results.map((r) => r.steadyLatencyUs));
  const afterCrashLatency = mergeLatencies(results.map((r) => r.afterCrashLatencyUs));
  const sum = (f: (r: ExperimentLoadResult) => number): number =>
    results.reduce((a, r) => a + f(r), 0);
  const rel = (t: number): number => round(t - m.originMs);
  return {
    strategy,
    runtime,
    failureMs: failure === null ? null : round(failure),
    outageDegradation: round(outage.degradation, 4),
    steadyViewChanges: viewChanges(setup.views, m.originMs, m.crashMs),
    peakSilenceMs: round(setup.peakSilenceMs),
    views: setup.views
      .filter((v) => v.atMs >= m.originMs)
      .map((v) => ({ ...v, atMs: rel(v.atMs) })),
    recoveryMs: round(report.recoveryMs),
    phasesMs: Object.fromEntries(Object.entries(report.phasesMs).map(([k, v]) => [k, round(v)])),
    recoveryCpuMs: report.cpuMs === undefined ? null : round(report.cpuMs),
    degradation: round(d.degradation, 4),
    missedKeys: missed.size,
    missedWrites,
    missedBytes,
    bytesMoved: report.bytesMoved,
    entriesReceived: report.entriesReceived,
    entriesApplied: report.entriesApplied,
    counts: report.counts,
    steadyOpsPerSec: Math.round(d.steadyOpsPerSec),
    recoveryOpsPerSec: Math.round(d.recoveryOpsPerSec),
    lateOutageOpsPerSec: Math.round(
      rate({ fromMs: (m.crashMs + m.restartCalledMs) / 2, toMs: m.restartCalledMs }),
    ),
    workerStartOpsPerSec: Math.round(rate({ fromMs: m.restartCalledMs, toMs: m.restartMs })),
    phaseOpsPerSec: phaseRates(report.phasesMs, m.restartMs, rate),
    tailOpsPerSec: Math.round(
      rate({ fromMs: m.servingReadsMs, toMs: Math.max(m.servingReadsMs, m.stopMs) }),
    ),
    recoveryBuckets: d.recoveryBuckets,
    recoveryWindow: d.recoveryWindow,
    clusterStarts: setup.clusterStarts,
    startEpoch: setup.startEpoch,
    clusterStartMs: round(setup.clusterStartMs),
    workerStartMs: round(setup.workerStartMs),
    restartWarmUp: setup.restartWarmUp ?? null,
    operations: sum((r) => r.gets + r.puts + r.rmws),
    failed: sum((r) => r.failed),
    timeouts: sum((r) => r.timeouts),
    shed: sum((r) => r.shed),
    steadyP50Us: latencyPercentileUs(steadyLatency, 50),
    steadyP99Us: latencyPercentileUs(steadyLatency, 99),
    afterCrashP99Us: latencyPercentileUs(afterCrashLatency, 99),
    marksMs: {
      steadyFromMs: rel(m.steadyFromMs),
      crashMs: rel(m.crashMs),
      restartCalledMs: rel(m.restartCalledMs),
      restartMs: rel(m.restartMs),
      servingReadsMs: rel(m.servingReadsMs),
      stopMs: rel(m.stopMs),
    },
    opsPerBucket: perBucket,
    bucketMs: BUCKET_MS,
  };
}

/** Each phase's throughput; phases are consecutive from the restart. */
function phaseRates(
  phasesMs: Record<string, number>,
  restartMs: number,
  rate: (w: Window) => number,
): Record<string, number> {
  const out: Record<string, number> = {};
  let fromMs = restartMs;
  for (const [name, ms] of Object.entries(phasesMs)) {
    out[name] = Math.round(rate({ fromMs, toMs: fromMs + ms }));
    fromMs += ms;
  }
  return out;
}

function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
