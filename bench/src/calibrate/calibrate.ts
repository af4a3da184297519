import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  COST_PROFILE_FORMAT,
  type CostProfile,
  type LinearCost,
  type PartyCosts,
} from '@heal/kv/sim';
import { describeMachine } from '../report/machine.js';
import { SIM_EXPERIMENT, SIM_MODEL, type SimExperimentConfig } from '../sim/sim-config.js';
import { fitAcrossRuns, median, roundFit, type LinearFit } from './fit.js';
import { fitByKind, measureHandlers, type HandlerRun } from './measure-handlers.js';
import { measureMedia, measureStart, type MediaPlan } from './measure-media.js';
import { fitLinear } from './fit.js';

export interface CalibrationPlan {
  /** Measured runs of the handler scenarios. */
  runs: number;
  /** One more run first, unmeasured, to warm the JIT (a smoke test skips it). */
  warmUpRun: boolean;
  /** Dataset of the handler scenarios. */
  keys: number;
  /** Multiplies the handler scenarios' phase lengths (a smoke test runs them shorter). */
  phaseScale: number;
  media: MediaPlan;
  /** Dataset sizes the replica-start fit uses. */
  startRecords: readonly number[];
  strategies: readonly string[];
  name: string;
  dataDir: string;
}

/** Samples a message kind needs in a run to get costs of its own (else the party's default). */
const MIN_KIND_SAMPLES = 20;

/**
 * The handler scenarios: the recovery experiment with each strategy on TAOBench (reads, and every
 * recovery protocol's messages), then HEAL and leader-incremental on YCSB A (the write path, and
 * an outage long enough that each recovery streams most of the dataset: MIN_KIND_SAMPLES batches
 * and more, so the batches are costed by their own measurements), 6 replicas and 2 clients on 2
 * cores. Short phases: they are there to run every handler many times, not to measure time.
 */
export function handlerScenarios(plan: CalibrationPlan): SimExperimentConfig[] {
  const ms = (full: number): number => Math.round(full * plan.phaseScale);
  const base: SimExperimentConfig = {
    ...SIM_EXPERIMENT,
    ...SIM_MODEL,
    costProfile: 'none',
    sharedCores: 2,
    check: false,
    keys: plan.keys,
    medium: 'memory-durable' as SimExperimentConfig['medium'],
    warmupMs: ms(50),
    steadyMs: ms(100),
    outageMs: ms(200),
    tailMs: ms(50),
    dataDir: plan.dataDir,
  };
  return [
    { ...base, strategies: [...plan.strategies], workload: 'taobench' },
    { ...base, strategies: ['heal', 'leader-incremental'], workload: 'ycsb-a', outageMs: ms(800) },
  ];
}

const cost = (f: { ns: number; nsPerByte: number }): LinearCost => roundFit(f);
const add = (a: LinearFit, b: LinearFit | undefined): LinearFit =>
  b ? { ns: a.ns + b.ns, nsPerByte: a.nsPerByte + b.nsPerByte, samples: a.samples } : a;

/** Per kind, the median over the runs that had enough samples of it (kinds in at least half of them). */
function kindsAcrossRuns(runs: readonly Map<string, LinearFit>[]): Map<string, LinearFit> {
  const kinds = new Set(runs.flatMap((r) => [...r.keys()]));
  const out = new Map<string, LinearFit>();
  for (const kind of kinds) {
    const fits = runs.flatMap((r) => (r.has(kind) ? [r.get(kind) as LinearFit] : []));
    if (fits.length * 2 >= runs.length) out.set(kind, fitAcrossRuns(fits));
  }
  return out;
}

function party(
  runs: readonly HandlerRun[],
  receiveOf: (r: HandlerRun) => HandlerRun['replicaReceive'],
  encodeOf: (r: HandlerRun) => HandlerRun['replicaEncode'],
  tickNs: number,
  flushNs: number,
): PartyCosts {
  const decode = kindsAcrossRuns(runs.map((r) => fitByKind(r.decode, MIN_KIND_SAMPLES)));
  const handlers = kindsAcrossRuns(runs.map((r) => fitByKind(receiveOf(r), MIN_KIND_SAMPLES)));
  const receive: Record<string, LinearCost> = {};
  for (const [kind, fit] of [...handlers].sort(([a], [b]) => a.localeCompare(b)))
    receive[kind] = cost(add(fit, decode.get(kind)));
  const all = Object.values(receive);
  return {
    receive,
    receiveDefault: {
      ns: all.length > 0 ? Math.round(median(all.map((c) => c.ns))) : 0,
      nsPerByte: 0,
    },
    send: cost(fitAcrossRuns(runs.map((r) => fitLinear(encodeOf(r))))),
    tickNs: Math.round(tickNs),
    flushNs: Math.round(flushNs),
    jobNs: 0,
    wakeNs: 0,
  };
}

const meanOf = (
  runs: readonly HandlerRun[],
  pick: (r: HandlerRun) => HandlerRun['replicaTick'],
): number => median(runs.map((r) => (pick(r).count > 0 ? fitLinear(pick(r)).ns : 0)));

/**
 * `heal calibrate`: measures on this machine what the real handlers (with the codec), the
 * replica's start and the media cost, and returns the cost profile. Every
 * figure is a median over `plan.runs` runs; within a run a cost is fitted through the median
 * times of its sizes (fit.ts), so preemptions on a shared machine count for nothing.
 */
export function calibrate(plan: CalibrationPlan, progress: (what: string) => void): CostProfile {
  mkdirSync(plan.dataDir, { recursive: true });
  const root = mkdtempSync(join(plan.dataDir, 'heal-calibrate-'));
  try {
    progress('media: open, reads in place, write, sync, saves');
    const media = measureMedia(root, plan.media, (what) => progress(`media: ${what}`));
    progress('replica start per record, per strategy');
    const start = measureStart(plan.strategies, plan.startRecords, plan.media.runs);
    const scenarios = handlerScenarios({ ...plan, dataDir: root });
    const runs: HandlerRun[] = [];
    for (let run = plan.warmUpRun ? 0 : 1; run <= plan.runs; run++) {
      progress(run === 0 ? 'handlers: warm-up run' : `handlers: run ${run} of ${plan.runs}`);
      const measured = measureHandlers(scenarios);
      if (run > 0) runs.push(measured);
    }
    const replica = party(
      runs,
      (r) => r.replicaReceive,
      (r) => r.replicaEncode,
      meanOf(runs, (r) => r.replicaTick),
      meanOf(runs, (r) => r.replicaFlush),
    );
    const client = party(
      runs,
      (r) => r.clientReceive,
      (r) => r.clientEncode,
      0,
      meanOf(runs, (r) => r.clientRound),
    );
    return {
      format: COST_PROFILE_FORMAT,
      name: plan.name,
      measuredAt: new Date().toISOString(),
      machine: { ...describeMachine() },
      method:
        `medians of ${plan.runs} runs (after one warm-up run); within a run, each cost is a line through the median time of each size ` +
        "(one size, or size quantiles), less the clock's own cost. " +
        'Handlers: the recovery experiment in the simulator (6 replicas, 2 clients; TAOBench with every strategy, YCSB A with heal and leader-incremental and an 800 ms outage, so their recovery batches are measured too), each handler timed with ' +
        'process.hrtime less the storage and encoding inside it; receive = handler + decode of its kind; send = encode. Media: per operation, in batches (write), ' +
        `after 1-256 writes (sync), ${plan.media.loadRecords.join(' and ')} records (open, then a get of every record, CPU time); pmem with its latency model ${plan.media.pmemLatency ? 'on' : 'off'}, ` +
        `crash simulation off, as on threads. Replica start: ${plan.startRecords.join(' and ')} records, CPU time less the medium's.`,
      replica: {
        ...replica,
        startNs: start.startNs,
        startRecordNs: start.startRecordNs,
        restartNs: 0,
      },
      client,
      media,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
