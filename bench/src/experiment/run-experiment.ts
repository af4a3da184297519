import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoadGenerators, sharedClockMs, type ActorId } from '@heal/actors';
import { HEAL_REPLICA_MODULE } from '@heal/heal';
import { ThreadCluster, type RecoveryReport } from '@heal/kv';
import { createWorkload } from '../workloads/index.js';
import { BUCKET_MS, type ExperimentConfig } from './config.js';
import { experimentPmemSizing } from './media-dir.js';
import {
  CONTROL_SLOTS,
  CONTROL_STARTED,
  CONTROL_STOP,
  MARK_CRASH_AT,
  MARK_SLOTS,
  MARK_STEADY_FROM,
  type ExperimentLoadParams,
  type ExperimentLoadResult,
} from './load-task.js';
import { summarize, type StrategyRun } from './summarize.js';
import { viewInstalls } from './view-timeline.js';

const TASK = new URL('./load-task.js', import.meta.url);
/** A fresh cluster must be a single view with leases within this long (pmem formatting included). */
const READY_LIMIT_MS = 120_000;
/** The load generators must all be issuing within this long of being launched. */
const TASKS_START_LIMIT_MS = 60_000;
/** The epoch of a cluster's first view. */
const FIRST_EPOCH = 1;
/** Clusters started per strategy at most, until one keeps its first view while starting. */
const START_ATTEMPTS = 3;
/** How often the driver checks a condition it waits for. */
const POLL_MS = 5;

export type { RunMarks, StrategyRun } from './summarize.js';

export type ExperimentStage =
  'starting cluster' | 'warm-up' | 'steady' | 'outage' | 'recovering' | 'tail' | 'stopping';

export interface ExperimentProgress {
  strategy: string;
  /** 0-based position of the strategy in the run, and how many there are. */
  index: number;
  of: number;
  stage: ExperimentStage;
  /** How long the stage is planned to last (undefined: until it is done). */
  stageMs: number | undefined;
}

/**
 * The recovery experiment on worker threads: per strategy, a fresh cluster with the
 * dataset preloaded, the workload run closed-loop by piscina load generators, one replica
 * crashed after the steady window, restarted after the outage, recovered, then a tail. Same
 * seed, dataset and workload for every strategy; strategies run one after the other.
 */
export async function runExperiment(
  config: ExperimentConfig,
  progress: (p: ExperimentProgress) => void = () => {},
): Promise<StrategyRun[]> {
  mkdirSync(config.dataDir, { recursive: true });
  // Made once the first cluster is up: spawning the pool's threads while six replicas write their
  // dataset slows some of them enough to be suspected.
  let generators: LoadGenerators<ExperimentLoadParams, ExperimentLoadResult> | undefined;
  const pool = (): LoadGenerators<ExperimentLoadParams, ExperimentLoadResult> =>
    (generators ??= new LoadGenerators<ExperimentLoadParams, ExperimentLoadResult>(
      TASK,
      config.clients,
    ));
  try {
    const runs: StrategyRun[] = [];
    for (const [index, strategy] of config.strategies.entries()) {
      const say = (stage: ExperimentStage, stageMs?: number): void =>
        progress({ strategy, index, of: config.strategies.length, stage, stageMs });
      const dir = mkdtempSync(join(config.dataDir, `heal-experiment-${strategy}-`));
      try {
        runs.push(await runStrategy(config, strategy, dir, pool, say));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    return runs;
  } finally {
    await generators?.destroy();
  }
}

async function runStrategy(
  config: ExperimentConfig,
  strategy: string,
  dir: string,
  pool: () => LoadGenerators<ExperimentLoadParams, ExperimentLoadResult>,
  say: (stage: ExperimentStage, stageMs?: number) => void,
): Promise<StrategyRun> {
  say('starting cluster');
  const { cluster, clusterStarts, startEpoch, clusterStartMs } = await startCluster(
    config,
    strategy,
    dir,
    say,
  );
  try {
    const control = new Int32Array(
      new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT),
    );
    const marks = new Float64Array(
      new SharedArrayBuffer(MARK_SLOTS * Float64Array.BYTES_PER_ELEMENT),
    );
    const clients = Array.from({ length: config.clients }, (_, i) => config.replicas + i);
    const live = Array.from({ length: config.replicas }, (_, id) => id).filter(
      (id) => id !== config.victim,
    );
    const originMs = sharedClockMs();
    const plannedMs =
      TASKS_START_LIMIT_MS +
      config.warmupMs +
      config.steadyMs +
      config.outageMs +
      READY_LIMIT_MS +
      config.recoveryLimitMs +
      config.tailMs +
      2 * config.clientTimeoutMs;
    let loadError: Error | undefined;
    const load = pool().run(cluster.runtime, clients, (id) => ({
      replicas: config.replicas,
      workload: config.workload,
      keys: config.keys,
      ...(config.valueBytes !== undefined ? { valueBytes: config.valueBytes } : {}),
      window: config.window,
      ...(config.targetOpsPerSec !== undefined
        ? { targetOpsPerSec: config.targetOpsPerSec / config.clients }
        : {}),
      seed: config.seed * 1000 + (id - config.replicas),
      timeoutMs: config.clientTimeoutMs,
      originMs,
      bucketMs: BUCKET_MS,
      maxBuckets: Math.ceil(plannedMs / BUCKET_MS),
      control: control.buffer as SharedArrayBuffer,
      marks: marks.buffer as SharedArrayBuffer,
    }));
    load.catch((err: unknown) => {
      loadError = err instanceof Error ? err : new Error(String(err));
    });
    /** Waits `ms`, failing early (instead of measuring nothing) if a load generator failed. */
    const wait = async (ms: number): Promise<void> => {
      const until = sharedClockMs() + ms;
      for (let left = ms; left > 0; left = until - sharedClockMs()) {
        if (loadError !== undefined) throw loadError;
        await sleep(Math.min(left, 50));
      }
      if (loadError !== undefined) throw loadError;
    };
    try {
      say('warm-up', config.warmupMs);
      const deadline = sharedClockMs() + TASKS_START_LIMIT_MS;
      while (Atomics.load(control, CONTROL_STARTED) < config.clients) {
        if (sharedClockMs() > deadline)
          throw new Error(`the load generators did not start within ${TASKS_START_LIMIT_MS} ms`);
        await wait(POLL_MS);
      }
      await wait(config.warmupMs);
      say('steady', config.steadyMs);
      const steadyFromMs = sharedClockMs();
      marks[MARK_STEADY_FROM] = steadyFromMs;
      await wait(config.steadyMs);
      const writesAtCrash = await writesStarted(cluster, live);
      const crashMs = sharedClockMs();
      marks[MARK_CRASH_AT] = crashMs;
      await cluster.crash(config.victim);
      say('outage', config.outageMs);
      await wait(crashMs + config.outageMs - sharedClockMs());
      const missedWrites = (await writesStarted(cluster, live)) - writesAtCrash;
      say('recovering');
      const restartCalledMs = sharedClockMs();
      const workerStart = await cluster.restart(config.victim, { strategy });
      const report = await recover(cluster, config.victim, config.recoveryLimitMs, () => loadError);
      const restartMs = report.startedMs;
      const servingReadsMs = restartMs + report.recoveryMs;
      say('tail', config.tailMs);
      await wait(servingReadsMs + config.tailMs - sharedClockMs());
      say('stopping');
      Atomics.store(control, CONTROL_STOP, 1);
      const results = await load;
      const stopMs = sharedClockMs();
      const replicaStats = await Promise.all(
        Array.from({ length: config.replicas }, (_, id) => cluster.stats(id)),
      );
      const views = viewInstalls(replicaStats.map((s) => s.actor));
      const peakSilenceMs = Math.max(...replicaStats.map((s) => s.actor['peakSilenceMs'] ?? 0));
      return summarize(
        'threads',
        strategy,
        report,
        results,
        missedWrites,
        {
          clusterStarts,
          startEpoch,
          clusterStartMs,
          workerStartMs: restartMs + (report.phasesMs['load'] ?? 0) - restartCalledMs,
          restartWarmUp: workerStart.warmUp,
          views,
          victim: config.victim,
          peakSilenceMs,
        },
        {
          originMs,
          steadyFromMs,
          crashMs,
          restartCalledMs,
          restartMs,
          servingReadsMs,
          stopMs,
        },
      );
    } finally {
      // Whatever happened, the generators end (they stop at the flag) before the cluster goes.
      Atomics.store(control, CONTROL_STOP, 1);
      await load.catch(() => undefined);
    }
  } finally {
    await cluster.shutdown();
  }
}

function workloadOptions(config: ExperimentConfig): { keys: number; valueBytes?: number } {
  return {
    keys: config.keys,
    ...(config.valueBytes !== undefined ? { valueBytes: config.valueBytes } : {}),
  };
}

/**
 * A fresh cluster, ready, that kept its first view while starting. A replica still writing its
 * dataset can be suspected by one that finished (views change, replicas recover at startup, and
 * a strategy's state, such as leader-incremental's keeper and who it knows in sync, differs
 * from a clean start): such a cluster is discarded and started again on fresh media, up to
 * START_ATTEMPTS times; the last one is used whatever happened, and the row says so.
 */
async function startCluster(
  config: ExperimentConfig,
  strategy: string,
  dir: string,
  say: (stage: ExperimentStage, stageMs?: number) => void,
): Promise<{
  cluster: ThreadCluster;
  clusterStarts: number;
  startEpoch: number;
  clusterStartMs: number;
}> {
  const valueBytes = createWorkload(config.workload, workloadOptions(config)).datasetValueBytes(0);
  for (let attempt = 1; ; attempt++) {
    const calledMs = sharedClockMs();
    const cluster = await ThreadCluster.start({
      replicas: config.replicas,
      clients: config.clients,
      module: HEAL_REPLICA_MODULE,
      strategy,
      medium: config.medium,
      model: config.model,
      dataDir: mkdtempSync(join(dir, `attempt-${attempt}-`)),
      ...experimentPmemSizing(config.keys, valueBytes),
      pmemLatency: config.pmemLatency,
      // Fixed-size workloads: every dataset value has the workload's size.
      dataset: { keys: config.keys, valueSizes: { bytes: [valueBytes], weights: [1] } },
      strategyOptions: { bufferBytes: config.bufferBytes },
      timing: { suspicionMs: config.suspicionMs },
      seed: config.seed,
    });
    try {
      await cluster.ready(READY_LIMIT_MS);
      const clusterStartMs = sharedClockMs() - calledMs;
      const stats = await Promise.all(
        Array.from({ length: config.replicas }, (_, id) => cluster.stats(id)),
      );
      const startEpoch = Math.max(...stats.map((s) => s.actor['epoch'] ?? 0));
      if (startEpoch === FIRST_EPOCH || attempt === START_ATTEMPTS)
        return { cluster, clusterStarts: attempt, startEpoch, clusterStartMs };
    } catch (err) {
      await cluster.shutdown();
      throw err;
    }
    await cluster.shutdown();
    say('starting cluster');
  }
}

/** Writes coordinated so far by the given replicas (their `writesStarted` stats). */
async function writesStarted(
  cluster: ThreadCluster,
  replicas: readonly ActorId[],
): Promise<number> {
  const stats = await Promise.all(replicas.map((id) => cluster.stats(id)));
  return stats.reduce((sum, s) => sum + (s.actor['writesStarted'] ?? 0), 0);
}

/** cluster.recover, failing early if a load generator failed meanwhile. */
async function recover(
  cluster: ThreadCluster,
  id: ActorId,
  limitMs: number,
  failure: () => Error | undefined,
): Promise<RecoveryReport> {
  const recovered = cluster.recover(id, limitMs);
  for (;;) {
    const done = await Promise.race([recovered, sleep(50).then(() => undefined)]);
    if (done !== undefined) return done;
    const err = failure();
    if (err !== undefined) {
      recovered.catch(() => undefined);
      throw err;
    }
  }
}
