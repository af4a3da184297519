import { loadavg } from 'node:os';
import type { CostProfile, LinearCost, MediumCosts, PartyCosts } from '@heal/kv/sim';
import type { ExperimentConfig } from '../experiment/config.js';
import type { StrategyRun } from '../experiment/summarize.js';
import type { LoadedProfile } from '../sim/cost-profiles.js';
import { runSimExperiment } from '../sim/run-sim-experiment.js';
import { SIM_MODEL, type SimExperimentConfig } from '../sim/sim-config.js';
import { median } from './fit.js';

/** The metrics the validation compares, and the two the bar holds to a ratio. */
export const VALIDATED_METRICS = [
  'steadyOpsPerSec',
  'recoveryMs',
  'failureMs',
  'degradation',
] as const;
export type ValidatedMetric = (typeof VALIDATED_METRICS)[number];
export const BAR_METRICS: readonly ValidatedMetric[] = ['steadyOpsPerSec', 'recoveryMs'];
/** The bar the simulator is held to: within this ratio of threads, either way. */
export const BAR_RATIO = { min: 0.67, max: 1.5 } as const;

export interface ValidationRow {
  metric: ValidatedMetric;
  strategy: string;
  /** Median over the thread runs. */
  threads: number | null;
  /** The simulator with the CPU the thread runs had (see `cores`). */
  sim: number | null;
  /** sim / threads (null when either is missing or threads is 0). */
  ratio: number | null;
  /** Whether the ratio meets the bar (null for the metrics the bar does not hold). */
  withinBar: boolean | null;
  /** The simulator with 2 whole cores, whatever else ran on the machine. */
  simTwoCores: number | null;
  /** Every thread run's value. */
  threadRuns: (number | null)[];
}

export interface ValidationResult {
  rows: ValidationRow[];
  /** Cores' worth of CPU the thread cluster used in its steady windows (median over runs): what the machine left it. */
  threadCores: number[];
  /** The load average of this machine before and after (other work running beside the cluster). */
  loadAvg: { before: number[]; after: number[] };
  simWallSec: number;
  threadsWallSec: number;
}

const scaleCost = (c: LinearCost, f: number): LinearCost => ({
  ns: c.ns * f,
  nsPerByte: c.nsPerByte * f,
});
const scaleParty = <P extends PartyCosts>(p: P, f: number): P => ({
  ...p,
  receive: Object.fromEntries(Object.entries(p.receive).map(([k, c]) => [k, scaleCost(c, f)])),
  receiveDefault: scaleCost(p.receiveDefault, f),
  send: scaleCost(p.send, f),
  tickNs: p.tickNs * f,
  flushNs: p.flushNs * f,
  jobNs: p.jobNs * f,
  wakeNs: p.wakeNs * f,
});
const scaleMedium = (m: MediumCosts, f: number): MediumCosts => ({
  openNs: m.openNs * f,
  openNsPerRecord: m.openNsPerRecord * f,
  read: scaleCost(m.read, f),
  write: scaleCost(m.write, f),
  sync: { ns: m.sync.ns * f, nsPerRecord: m.sync.nsPerRecord * f, nsPerByte: m.sync.nsPerByte * f },
  saveNs: m.saveNs * f,
});

/**
 * The profile with every cost multiplied by `factor`: `cores` cores doing this profile's work
 * at 1/factor of their speed are `cores / factor` cores' worth of CPU (what a shared machine
 * leaves a cluster, when others run beside it).
 */
export function scaleProfile(loaded: LoadedProfile, factor: number): LoadedProfile {
  const p = loaded.profile;
  const profile: CostProfile = {
    ...p,
    name: `${p.name} x${factor.toFixed(2)}`,
    replica: {
      ...scaleParty(p.replica, factor),
      startNs: p.replica.startNs * factor,
      startRecordNs: Object.fromEntries(
        Object.entries(p.replica.startRecordNs).map(([k, v]) => [k, v * factor]),
      ),
    },
    client: scaleParty(p.client, factor),
    media: Object.fromEntries(Object.entries(p.media).map(([k, m]) => [k, scaleMedium(m, factor)])),
  };
  return { profile, path: loaded.path };
}

function metricOf(run: StrategyRun, metric: ValidatedMetric): number | null {
  const v = run[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** What one thread run measured: its rows, and the cores' worth of CPU the process used in the steady window. */
export interface ThreadRun {
  rows: StrategyRun[];
  cores: number;
}

/**
 * Validation against threads: the same scenario (6 replicas and the load sharing 2
 * cores) on worker threads `threadRuns` times, and in the simulator with the profile: once
 * with the CPU the thread cluster actually had (the profile scaled by 2 / the cores it used in
 * its steady windows, median), once with 2 whole cores. Rows per strategy and metric.
 */
export async function validate(
  config: ExperimentConfig,
  profile: LoadedProfile,
  threadRuns: number,
  runThreads: (config: ExperimentConfig) => Promise<ThreadRun>,
  progress: (what: string) => void,
): Promise<ValidationResult> {
  const before = loadavg();
  const threadsStart = performance.now();
  const runs: ThreadRun[] = [];
  for (let i = 0; i < threadRuns; i++) {
    progress(`threads: run ${i + 1} of ${threadRuns}`);
    runs.push(await runThreads(config));
  }
  const threadsWallSec = (performance.now() - threadsStart) / 1000;
  const cores = median(runs.map((r) => r.cores));
  const shared = 2;
  const sim: SimExperimentConfig = {
    ...config,
    ...SIM_MODEL,
    sharedCores: shared,
    link: 'loopback',
    costProfile: profile.path,
    check: false,
    pmemLatency: false,
  };
  const simStart = performance.now();
  progress(
    `sim: ${shared} cores with ${cores.toFixed(2)} cores' worth of CPU (as the threads had)`,
  );
  const factor = Math.max(1, shared / Math.max(cores, 0.05));
  const simRows = runSimExperiment(sim, scaleProfile(profile, factor));
  progress(`sim: ${shared} whole cores`);
  const fullRows = factor === 1 ? simRows : runSimExperiment(sim, profile);
  const simWallSec = (performance.now() - simStart) / 1000;
  const rows: ValidationRow[] = [];
  for (const strategy of config.strategies) {
    for (const metric of VALIDATED_METRICS) {
      const threadValues = runs.map((r) => {
        const row = r.rows.find((x) => x.strategy === strategy);
        return row ? metricOf(row, metric) : null;
      });
      const present = threadValues.filter((v): v is number => v !== null);
      const t = present.length > 0 ? median(present) : null;
      const simRow = simRows.find((r) => r.strategy === strategy);
      const fullRow = fullRows.find((r) => r.strategy === strategy);
      const s = simRow ? metricOf(simRow, metric) : null;
      const ratio = t !== null && s !== null && t !== 0 ? s / t : null;
      rows.push({
        metric,
        strategy,
        threads: round(t),
        sim: round(s),
        ratio: round(ratio),
        withinBar: BAR_METRICS.includes(metric)
          ? ratio !== null && ratio >= BAR_RATIO.min && ratio <= BAR_RATIO.max
          : null,
        simTwoCores: round(fullRow ? metricOf(fullRow, metric) : null),
        threadRuns: threadValues.map(round),
      });
    }
  }
  return {
    rows,
    threadCores: runs.map((r) => Math.round(r.cores * 100) / 100),
    loadAvg: {
      before: before.map((v) => Math.round(v * 100) / 100),
      after: loadavg().map((v) => Math.round(v * 100) / 100),
    },
    simWallSec: Math.round(simWallSec),
    threadsWallSec: Math.round(threadsWallSec),
  };
}

function round(v: number | null): number | null {
  return v === null ? null : Math.round(v * 1000) / 1000;
}
