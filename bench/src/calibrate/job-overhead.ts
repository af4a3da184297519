import type { CostProfile } from '@heal/kv/sim';
import type { ExperimentConfig } from '../experiment/config.js';
import { runSimExperiment } from '../sim/run-sim-experiment.js';
import { SIM_MODEL, type SimExperimentConfig } from '../sim/sim-config.js';
import type { ThreadRun } from './validate.js';

/** What the fit measured, for the profile's method and the report. */
export interface JobOverhead {
  /** The fitted cost of a job beyond its handlers (ns), for replicas and clients alike. */
  jobNs: number;
  /** CPU per operation of the thread cluster in its steady window (all its threads, ns). */
  threadsNsPerOp: number;
  /** What the simulator charges per operation for the handlers, codec and media alone (ns). */
  handlersNsPerOp: number;
  jobsPerOp: number;
  threadCores: number;
  threadOpsPerSec: number;
}

/** Simulator runs of the fit: the jobs per operation depend on jobNs (batching), so it is refitted. */
const ROUNDS = 3;
/** Cores the thread cluster and the simulated one share. */
const SHARED_CORES = 2;

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** The profile with every job of replicas and clients costing `jobNs`. */
export function withJobNs(profile: CostProfile, jobNs: number): CostProfile {
  return {
    ...profile,
    replica: { ...profile.replica, jobNs },
    client: { ...profile.client, jobNs },
  };
}

/**
 * The thread runtime's own cost per job (polling its rings, parking and waking a thread, a
 * switch between 9 threads on 2 cores), which timing the handlers does not see: the scenario
 * runs on worker threads, giving its CPU per operation in the steady window (process CPU time
 * over completed operations); the simulator runs it with every actor on 2 shared cores,
 * charging the handlers, codec and media; the difference, spread over the simulator's jobs per
 * operation, is each job's cost.
 */
export async function fitJobOverhead(
  profile: CostProfile,
  config: ExperimentConfig,
  runThreads: (config: ExperimentConfig) => Promise<ThreadRun>,
  progress: (what: string) => void,
): Promise<JobOverhead> {
  progress('thread runtime: the scenario on worker threads');
  const threads = await runThreads(config);
  const row = threads.rows[0];
  if (!row || row.steadyOpsPerSec <= 0)
    throw new Error('calibrate: the thread run completed no operations in its steady window');
  const threadsNsPerOp = (threads.cores * 1e9) / row.steadyOpsPerSec;
  const sim: SimExperimentConfig = {
    ...config,
    ...SIM_MODEL,
    sharedCores: SHARED_CORES,
    link: 'loopback',
    costProfile: '',
    check: false,
    pmemLatency: false,
  };
  let jobNs = 0;
  let handlersNsPerOp = 0;
  let jobsPerOp = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    progress(`thread runtime: simulator run ${round} of ${ROUNDS} (${Math.round(jobNs)} ns a job)`);
    const [run] = runSimExperiment(sim, {
      profile: withJobNs(profile, jobNs),
      path: '(being calibrated)',
    });
    if (!run || run.operations === 0)
      throw new Error('calibrate: the simulator run completed no operations');
    const jobs = sum(run.cpuJobs);
    handlersNsPerOp = (sum(run.cpuBusyMs) * 1e6 - jobs * jobNs) / run.operations;
    jobsPerOp = jobs / run.operations;
    jobNs = Math.max(0, (threadsNsPerOp - handlersNsPerOp) / jobsPerOp);
  }
  return {
    jobNs: Math.round(jobNs),
    threadsNsPerOp: Math.round(threadsNsPerOp),
    handlersNsPerOp: Math.round(handlersNsPerOp),
    jobsPerOp: Math.round(jobsPerOp * 1000) / 1000,
    threadCores: Math.round(threads.cores * 100) / 100,
    threadOpsPerSec: row.steadyOpsPerSec,
  };
}
