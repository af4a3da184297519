import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { utf8Text } from '@heal/actors/core';
import { LINK_PRESETS } from '@heal/actors/sim';
import { healReplicaModule } from '@heal/heal/replica-module';
import { checkHistory, formatReport, HistoryRecorder } from '@heal/kv/checker';
import { datasetIndex, datasetValue, THREAD_TIMING, type DatasetSpec } from '@heal/kv/replica';
import { SimCluster, type SimClusterOptions, type SimCpuOptions } from '@heal/kv/sim';
import {
  startClientLoad,
  type ClientLoadControl,
  type ExperimentLoadResult,
} from '../experiment/client-load.js';
import { BUCKET_MS } from '../experiment/config.js';
import { experimentPmemSizing } from '../experiment/media-dir.js';
import type { ExperimentProgress, ExperimentStage } from '../experiment/run-experiment.js';
import { summarize, type RunMarks, type StrategyRun } from '../experiment/summarize.js';
import { viewInstalls } from '../experiment/view-timeline.js';
import { createWorkload } from '../workloads/index.js';
import type { LoadedProfile } from './cost-profiles.js';
import type { SimExperimentConfig } from './sim-config.js';

/** One strategy's run in the simulator: the threads' row, and what only the simulator checks. */
export interface SimRun extends StrategyRun {
  /** The history was checked linearizable (null: not checked, --no-check). */
  linearizable: boolean | null;
  /** Every live replica held the same records once the load stopped and the cluster settled. */
  replicasEqual: boolean;
  /** CPU time each replica, then each client, was charged over the run (virtual ms; empty without a CPU model). */
  cpuBusyMs: number[];
  /** Jobs each replica, then each client, ran (empty without a CPU model). */
  cpuJobs: number[];
  /** Simulator events the run took, and its wall-clock seconds. */
  events: number;
  wallSec: number;
}

/** What a calibration replaces in a run's cluster: the CPU model (a meter), its media (timed), its module (a timed codec). */
export type SimInstruments = Pick<SimClusterOptions, 'cpu' | 'wrapStorage' | 'module'>;

/** Virtual ms a fresh cluster gets to be one view with leases. */
const READY_LIMIT_MS = 60_000;
/** Virtual ms the clients get to finish what they have in flight once stopped (timeouts included). */
const STOP_LIMIT_MS = 60_000;
/** Virtual ms the replicas get to settle after the load (every write done, every key Valid). */
const SETTLE_LIMIT_MS = 60_000;
/** History clients: each load client's window slots are numbered from its own block. */
const HISTORY_CLIENTS_PER_LOAD_CLIENT = 1_000_000;

/**
 * The recovery experiment (run-experiment.ts) in the deterministic simulator: per strategy, the
 * same seeded cluster, dataset and workload; clients with a window each (client-load.ts, the
 * code the thread runtime's load generators run); crash the victim after the warm-up and the
 * steady window, restart it after the outage, run until it serves reads, then a tail. With a
 * cost profile every handler, storage operation and message costs what it costs on the machine
 * the profile was measured on (the CPU and bandwidth models), so every number is virtual time
 * that means what the same number means on threads.
 */
export function runSimExperiment(
  config: SimExperimentConfig,
  profile: LoadedProfile | undefined,
  progress: (p: ExperimentProgress) => void = () => {},
  instruments: SimInstruments = {},
): SimRun[] {
  mkdirSync(config.dataDir, { recursive: true });
  return config.strategies.map((strategy, index) => {
    const say = (stage: ExperimentStage, stageMs?: number): void =>
      progress({ strategy, index, of: config.strategies.length, stage, stageMs });
    const dir = mkdtempSync(join(config.dataDir, `heal-sim-${strategy}-`));
    try {
      return runStrategy(config, profile, strategy, dir, say, instruments);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** The CPU model's placement: every id on one shared machine, or each on its own. */
function cpuOptions(
  config: SimExperimentConfig,
  profile: LoadedProfile | undefined,
): SimCpuOptions | undefined {
  if (!profile) return undefined;
  const ids = Array.from({ length: config.replicas + config.clients }, (_, id) => id);
  return config.sharedCores > 0
    ? { profile: profile.profile, hosts: [{ cores: config.sharedCores, ids }] }
    : { profile: profile.profile, cores: config.cores };
}

function simCluster(
  config: SimExperimentConfig,
  profile: LoadedProfile | undefined,
  strategy: string,
  dir: string,
  dataset: DatasetSpec,
  instruments: SimInstruments,
): SimCluster {
  const preset = LINK_PRESETS[config.link];
  const cpu = cpuOptions(config, profile);
  return new SimCluster({
    seed: config.seed,
    replicas: config.replicas,
    clients: config.clients,
    module: healReplicaModule,
    strategy,
    medium: config.medium,
    model: config.model,
    dataDir: dir,
    ...experimentPmemSizing(config.keys, dataset.valueSizes.bytes[0] as number),
    pmemLatency: false,
    dataset,
    strategyOptions: { bufferBytes: config.bufferBytes },
    // The thread runtime's timing: with a CPU model, virtual ms cost what real ones do.
    timing: { ...THREAD_TIMING, suspicionMs: config.suspicionMs },
    clientTimeoutMs: config.clientTimeoutMs,
    history: false,
    // A crashed worker's links reset on threads: its peers learn of it at once.
    crashResets: () => true,
    network: preset.link,
    nic: preset.nic,
    ...(cpu ? { cpu } : {}),
    ...instruments,
  });
}

/** The history recorder of a run: virtual ns, strictly increasing; the dataset is each key's initial value. */
function recorder(cluster: SimCluster, dataset: DatasetSpec): HistoryRecorder {
  let last = 0;
  return new HistoryRecorder(
    () => {
      last = Math.max(last + 1, Math.round(cluster.sim.now * 1e6));
      return last;
    },
    (key) => {
      const index = datasetIndex(dataset, key);
      return index === undefined ? undefined : utf8Text(datasetValue(dataset, index));
    },
  );
}

function runStrategy(
  config: SimExperimentConfig,
  profile: LoadedProfile | undefined,
  strategy: string,
  dir: string,
  say: (stage: ExperimentStage, stageMs?: number) => void,
  instruments: SimInstruments,
): SimRun {
  const wallStart = performance.now();
  say('starting cluster');
  const valueBytes = createWorkload(config.workload, {
    keys: config.keys,
    ...(config.valueBytes !== undefined ? { valueBytes: config.valueBytes } : {}),
  }).datasetValueBytes(0);
  const dataset: DatasetSpec = {
    keys: config.keys,
    valueSizes: { bytes: [valueBytes], weights: [1] },
  };
  const cluster = simCluster(config, profile, strategy, dir, dataset, instruments);
  const sim = cluster.sim;
  try {
    if (!sim.runUntil(() => cluster.quiescent(), READY_LIMIT_MS))
      throw new Error(
        `${strategy}: the cluster was not one view with leases within ${READY_LIMIT_MS} virtual ms`,
      );
    const startEpoch = Math.max(...cluster.liveReplicas().map((r) => r.view.epoch));
    const history = config.check ? recorder(cluster, dataset) : undefined;
    const results: (ExperimentLoadResult | undefined)[] = [];
    const marks = { stopped: false, steadyFromMs: 0, crashAtMs: 0 };
    const control: ClientLoadControl = {
      stopped: () => marks.stopped,
      steadyFromMs: () => marks.steadyFromMs,
      crashAtMs: () => marks.crashAtMs,
      every: (ms, fn) => {
        let live = true;
        const loop = (): void => {
          if (!live) return;
          fn();
          if (live) sim.after(ms, 'open-loop tick', loop);
        };
        sim.after(ms, 'open-loop tick', loop);
        return () => {
          live = false;
        };
      },
    };
    const originMs = sim.now;
    const plannedMs =
      config.warmupMs +
      config.steadyMs +
      config.outageMs +
      config.recoveryLimitMs +
      config.tailMs +
      STOP_LIMIT_MS;
    cluster.clients.forEach((client, i) => {
      startClientLoad(
        sim.endpoint(config.replicas + i),
        client,
        {
          replicas: config.replicas,
          workload: config.workload,
          keys: config.keys,
          ...(config.valueBytes !== undefined ? { valueBytes: config.valueBytes } : {}),
          window: config.window,
          ...(config.targetOpsPerSec !== undefined
            ? { targetOpsPerSec: config.targetOpsPerSec / config.clients }
            : {}),
          seed: config.seed * 1000 + i,
          originMs,
          bucketMs: BUCKET_MS,
          maxBuckets: Math.ceil(plannedMs / BUCKET_MS),
        },
        control,
        (r) => {
          results[i] = r;
        },
        history && { history, historyClient: i * HISTORY_CLIENTS_PER_LOAD_CLIENT },
      );
    });
    say('warm-up', config.warmupMs);
    sim.runFor(config.warmupMs);
    say('steady', config.steadyMs);
    marks.steadyFromMs = sim.now;
    sim.runFor(config.steadyMs);
    const crashMs = sim.now;
    marks.crashAtMs = crashMs;
    cluster.crash(config.victim);
    say('outage', config.outageMs);
    sim.runFor(config.outageMs);
    say('recovering');
    const restartCalledMs = sim.now;
    cluster.restart(config.victim, { strategy });
    const outcome = cluster.recover(config.victim, config.recoveryLimitMs);
    const restartMs = outcome.startedMs;
    const servingReadsMs = restartMs + outcome.recoveryMs;
    say('tail', config.tailMs);
    sim.runUntilTime(servingReadsMs + config.tailMs);
    say('stopping');
    marks.stopped = true;
    const finished = (): boolean =>
      results.filter((r) => r !== undefined).length === config.clients;
    if (!sim.runUntil(finished, STOP_LIMIT_MS))
      throw new Error(
        `${strategy}: the clients did not finish within ${STOP_LIMIT_MS} virtual ms of the stop`,
      );
    const stopMs = sim.now;
    const stats = cluster.liveReplicas().map((r) => r.stats());
    const views = viewInstalls(stats);
    const m: RunMarks = {
      originMs,
      steadyFromMs: marks.steadyFromMs,
      crashMs,
      restartCalledMs,
      restartMs,
      servingReadsMs,
      stopMs,
    };
    const row = summarize(
      'sim',
      strategy,
      outcome,
      results as ExperimentLoadResult[],
      outcome.missedWrites,
      {
        clusterStarts: 1,
        startEpoch,
        clusterStartMs: originMs,
        workerStartMs: restartMs + (outcome.phasesMs['load'] ?? 0) - restartCalledMs,
        views,
        victim: config.victim,
        peakSilenceMs: Math.max(...stats.map((s) => s['peakSilenceMs'] ?? 0)),
      },
      m,
    );
    if (!cluster.settle(SETTLE_LIMIT_MS))
      throw new Error(
        `${strategy}: the replicas did not settle within ${SETTLE_LIMIT_MS} virtual ms`,
      );
    const verdict = cluster.verify();
    if (!verdict.equal)
      throw new Error(
        `${strategy}: replicas differ after recovery (seed ${config.seed}):\n${verdict.differences.slice(0, 10).join('\n')}`,
      );
    let linearizable: boolean | null = null;
    if (history) {
      const result = checkHistory(history.history());
      if (!result.ok)
        throw new Error(
          `${strategy}: the history is not linearizable (seed ${config.seed}):\n${formatReport(result)}`,
        );
      linearizable = true;
    }
    const ids = Array.from({ length: config.replicas + config.clients }, (_, id) => id);
    return {
      ...row,
      linearizable,
      replicasEqual: true,
      cpuBusyMs: sim.cpuModel
        ? ids.map((id) => Math.round(sim.cpuStats(id).busyMs * 1000) / 1000)
        : [],
      cpuJobs: sim.cpuModel ? ids.map((id) => sim.cpuStats(id).jobs) : [],
      events: sim.stats.events,
      wallSec: Math.round((performance.now() - wallStart) / 100) / 10,
    };
  } finally {
    for (let id = 0; id < config.replicas; id++) sim.storage(id).close();
  }
}
