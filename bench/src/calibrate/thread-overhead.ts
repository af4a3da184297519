import type { CostProfile } from '@heal/kv/sim';
import type { ExperimentConfig } from '../experiment/config.js';
import { runSimExperiment } from '../sim/run-sim-experiment.js';
import { SIM_MODEL, type SimExperimentConfig } from '../sim/sim-config.js';
import { median } from './fit.js';
import type { ThreadRun } from './validate.js';

/** What the fit measured, for the profile's method and the report. */
export interface ThreadOverhead {
  /** The fitted cost of a job beyond its handlers (ns), for replicas and clients alike. */
  jobNs: number;
  /** The fitted cost of a restarted replica's thread beyond its handlers and jobs (ns); 0 where the thread run measured none. */
  restartNs: number;
  /** CPU per operation of the thread cluster in its steady window (all its threads, ns; median over the runs, as the two below). */
  threadsNsPerOp: number;
  /** What the simulator charges per operation for the handlers, codec and media (ns). */
  handlersNsPerOp: number;
  jobsPerOp: number;
  /** The recovering replica's CPU from its restart to serving reads (ms): on threads, and in the fit's last simulator run. */
  threadsRecoveryCpuMs: number | null;
  simRecoveryCpuMs: number | null;
  threadCores: number;
  threadOpsPerSec: number;
}

/** Simulator runs of the fit: batching, throughput and so what a recovery replays move with the costs. */
const ROUNDS = 4;
/**
 * Thread runs the fit takes medians of: one recovery's CPU on threads moved by 27% between
 * calibrations (7.6-9.7 ms in three).
 */
export const THREAD_RUNS = 3;
/** Cores the thread cluster and the simulated one share. */
const SHARED_CORES = 2;

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** The profile with every job of replicas and clients costing `jobNs`, and a restart `restartNs`. */
export function withThreadOverhead(
  profile: CostProfile,
  fit: Pick<ThreadOverhead, 'jobNs' | 'restartNs'>,
): CostProfile {
  return {
    ...profile,
    replica: { ...profile.replica, jobNs: fit.jobNs, restartNs: fit.restartNs },
    client: { ...profile.client, jobNs: fit.jobNs },
  };
}

/**
 * What timing the handlers alone does not see of the thread runtime, fitted to `threadRuns`
 * runs of the scenario on worker threads (medians), the simulator running it with every actor
 * on 2 shared cores:
 * - the cost per job (polling its rings, parking and waking a thread, a switch between 9
 *   threads on 2 cores): what the thread cluster spent per operation in its steady window
 *   (process CPU time over completed operations), less what the simulator charges for the
 *   handlers, spread over its jobs per operation;
 * - the cost of a restart: what the recovering replica's thread spent from its restart to
 *   serving reads (its own CPU time), less what the simulator charges it. A restarted replica
 *   runs its recovery's code for the first time in that isolate (lazy compilation, inline
 *   caches, deoptimizations), and it is charged once, at the end of its start.
 * The simulator's throughput (so the writes the restarted replica missed) and its batching
 * move with the costs, so the fit is repeated. Without the second measurement (per-thread CPU
 * time needs Linux) a restart costs nothing beyond its handlers.
 */
export async function fitThreadOverhead(
  profile: CostProfile,
  config: ExperimentConfig,
  runThreads: (config: ExperimentConfig) => Promise<ThreadRun>,
  progress: (what: string) => void,
  threadRuns = THREAD_RUNS,
): Promise<ThreadOverhead> {
  const runs: {
    nsPerOp: number;
    cores: number;
    opsPerSec: number;
    recoveryCpuMs: number | null;
  }[] = [];
  for (let i = 1; i <= threadRuns; i++) {
    progress(`thread runtime: the scenario on worker threads, run ${i} of ${threadRuns}`);
    const threads = await runThreads(config);
    const row = threads.rows[0];
    if (!row || row.steadyOpsPerSec <= 0)
      throw new Error('calibrate: the thread run completed no operations in its steady window');
    runs.push({
      nsPerOp: (threads.cores * 1e9) / row.steadyOpsPerSec,
      cores: threads.cores,
      opsPerSec: row.steadyOpsPerSec,
      recoveryCpuMs: row.recoveryCpuMs,
    });
  }
  const threadsNsPerOp = median(runs.map((r) => r.nsPerOp));
  const measuredRecovery = runs.flatMap((r) => (r.recoveryCpuMs === null ? [] : [r.recoveryCpuMs]));
  const threadsRecoveryCpuMs = measuredRecovery.length > 0 ? median(measuredRecovery) : null;
  const sim: SimExperimentConfig = {
    ...config,
    ...SIM_MODEL,
    sharedCores: SHARED_CORES,
    link: 'loopback',
    costProfile: '',
    check: false,
    pmemLatency: false,
  };
  const fit = { jobNs: 0, restartNs: 0 };
  let handlersNsPerOp = 0;
  let jobsPerOp = 0;
  let simRecoveryCpuMs: number | null = null;
  for (let round = 1; round <= ROUNDS; round++) {
    progress(
      `thread runtime: simulator run ${round} of ${ROUNDS} (${Math.round(fit.jobNs)} ns a job, ${Math.round(fit.restartNs / 1000)} us a restart)`,
    );
    const [run] = runSimExperiment(sim, {
      profile: withThreadOverhead(profile, fit),
      path: '(being calibrated)',
    });
    if (!run || run.operations === 0)
      throw new Error('calibrate: the simulator run completed no operations');
    const jobs = sum(run.cpuJobs);
    handlersNsPerOp = (sum(run.cpuBusyMs) * 1e6 - jobs * fit.jobNs) / run.operations;
    jobsPerOp = jobs / run.operations;
    simRecoveryCpuMs = run.recoveryCpuMs;
    if (threadsRecoveryCpuMs !== null && simRecoveryCpuMs !== null)
      fit.restartNs = Math.max(0, fit.restartNs + (threadsRecoveryCpuMs - simRecoveryCpuMs) * 1e6);
    fit.jobNs = Math.max(0, (threadsNsPerOp - handlersNsPerOp) / jobsPerOp);
  }
  return {
    jobNs: Math.round(fit.jobNs),
    restartNs: Math.round(fit.restartNs),
    threadsNsPerOp: Math.round(threadsNsPerOp),
    handlersNsPerOp: Math.round(handlersNsPerOp),
    jobsPerOp: Math.round(jobsPerOp * 1000) / 1000,
    threadsRecoveryCpuMs,
    simRecoveryCpuMs,
    threadCores: Math.round(median(runs.map((r) => r.cores)) * 100) / 100,
    threadOpsPerSec: Math.round(median(runs.map((r) => r.opsPerSec))),
  };
}
