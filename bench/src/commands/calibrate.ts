import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import type { CostProfile } from '@heal/kv/sim';
import type { Command, OptionTable, OptionValues } from '../cli/command.js';
import { UsageError } from '../cli/command.js';
import { intFlag, listFlag } from '../cli/flags.js';
import {
  DEMO_EXPERIMENT,
  EXPERIMENT_STRATEGY_NAMES,
  type ExperimentConfig,
} from '../experiment/config.js';
import { defaultMediaDir } from '../experiment/media-dir.js';
import type { StrategyRun } from '../experiment/summarize.js';
import type { CalibrationPlan } from '../calibrate/calibrate.js';
import type { ThreadOverhead } from '../calibrate/thread-overhead.js';
import { formatNumber, markdownTable, publishReport } from '../report/document.js';
import { describeMachine } from '../report/machine.js';
import { BENCH_RESULTS_DIR, outputOptions, resultsDir } from '../report/results-dir.js';
import {
  DEFAULT_PROFILE_NAME,
  DEFAULT_PROFILE_PATH,
  type LoadedProfile,
} from '../sim/cost-profiles.js';
import { simProfile } from './recover.js';

const STRATEGIES = ['heal', 'full-copy', 'leader-incremental'];

const OPTIONS = {
  runs: {
    type: 'string',
    arg: 'N',
    help: 'measured runs of every measurement (medians over them)',
    default: 3,
    quick: 1,
  },
  name: {
    type: 'string',
    arg: 'NAME',
    help: "the profile's name, as reports show it",
    default: '<cpu>-<cpus>cpu-<date>',
  },
  validate: {
    type: 'boolean',
    help: [
      'instead of calibrating: run the recovery experiment on threads and in the',
      'simulator (6 replicas and the load sharing 2 cores) and compare them',
    ],
  },
  'cost-profile': {
    type: 'string',
    arg: 'FILE',
    help: [
      "--validate: the profile to check ('default': the one that ships); without it, a profile",
      "is measured first, in the same run (this shared machine's speed moves between runs);",
      "with --quick, 'default' (a quick calibration's short thread runs measure a cold cluster)",
    ],
    default: 'measured in this run',
    quick: 'default',
  },
  strategy: {
    type: 'string',
    arg: 'LIST',
    help: `--validate: ${EXPERIMENT_STRATEGY_NAMES.join(',')}`,
    default: 'heal',
  },
  keys: {
    type: 'string',
    arg: 'N',
    help: '--validate: dataset size',
    default: DEMO_EXPERIMENT.keys,
  },
  'threads-runs': {
    type: 'string',
    arg: 'N',
    help: '--validate: thread runs (medians over them: one recovery on threads takes 13-46 ms here)',
    default: 5,
    quick: 1,
  },
  seed: {
    type: 'string',
    arg: 'N',
    help: '--validate: seed of the cluster and the clients',
    default: DEMO_EXPERIMENT.seed,
  },
  quick: { type: 'boolean', help: 'fewer runs and smaller measurements (a smoke test)' },
  ...outputOptions(
    'calibrate.json and .md (and cost-profile.json)',
    `bench/results/ (the profile: ${DEFAULT_PROFILE_NAME}, the simulator's default)`,
  ),
} as const satisfies OptionTable;

/** Flags of a calibration, and of a validation: given to the other, they are an error. */
const CALIBRATION_FLAGS = ['runs', 'name'] as const;
const VALIDATION_FLAGS = ['cost-profile', 'strategy', 'keys', 'threads-runs', 'seed'] as const;

const say = (line: string): void => {
  process.stderr.write(`heal calibrate: ${line}\n`);
};

function defaultName(): string {
  const m = describeMachine();
  const cpu = m.cpuModel
    .split(/\s+/)
    .slice(0, 2)
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '');
  return `${cpu}-${m.cpus}cpu-${new Date().toISOString().slice(0, 10)}`;
}

/** The profile as rows: one per cost, for the report's table. */
function profileRows(
  p: CostProfile,
): { party: string; cost: string; ns: number; nsPerByte: number }[] {
  const rows: { party: string; cost: string; ns: number; nsPerByte: number }[] = [];
  for (const who of ['replica', 'client'] as const) {
    const party = p[who];
    for (const [kind, c] of Object.entries(party.receive))
      rows.push({ party: who, cost: `receive ${kind}`, ...c });
    rows.push(
      { party: who, cost: 'receive (other kinds)', ...party.receiveDefault },
      { party: who, cost: 'send (encode)', ...party.send },
    );
    rows.push(
      { party: who, cost: 'tick', ns: party.tickNs, nsPerByte: 0 },
      { party: who, cost: 'flush / round end', ns: party.flushNs, nsPerByte: 0 },
    );
    rows.push({ party: who, cost: 'job (thread runtime, fitted)', ns: party.jobNs, nsPerByte: 0 });
  }
  rows.push({ party: 'replica', cost: 'start (fixed)', ns: p.replica.startNs, nsPerByte: 0 });
  rows.push({
    party: 'replica',
    cost: 'restart (thread runtime, fitted)',
    ns: p.replica.restartNs,
    nsPerByte: 0,
  });
  for (const [s, ns] of Object.entries(p.replica.startRecordNs))
    rows.push({
      party: 'replica',
      cost: `start per record on the medium (${s})`,
      ns,
      nsPerByte: 0,
    });
  for (const [medium, m] of Object.entries(p.media)) {
    rows.push(
      { party: medium, cost: 'open', ns: m.openNs, nsPerByte: 0 },
      { party: medium, cost: 'open per record held', ns: m.openNsPerRecord, nsPerByte: 0 },
    );
    rows.push({ party: medium, cost: 'read per record (in place)', ...m.read });
    rows.push(
      { party: medium, cost: 'write', ...m.write },
      { party: medium, cost: 'sync', ns: m.sync.ns, nsPerByte: 0 },
    );
    rows.push(
      { party: medium, cost: 'sync per record written', ns: m.sync.nsPerRecord, nsPerByte: 0 },
      { party: medium, cost: 'save (epoch, seq mark)', ns: m.saveNs, nsPerByte: 0 },
    );
  }
  return rows;
}

/** A profile measured now, and how. */
interface Measured {
  profile: CostProfile;
  plan: CalibrationPlan;
  overhead: ThreadOverhead;
  wallSec: number;
}

/** Measures a cost profile on this machine (`heal calibrate`; --quick: fewer, smaller runs). */
async function measureProfile(quick: boolean, runs: number, name: string): Promise<Measured> {
  const { calibrate } = await import('../calibrate/calibrate.js');
  const plan: CalibrationPlan = {
    runs,
    warmUpRun: !quick,
    keys: quick ? 2000 : 10_000,
    phaseScale: quick ? 0.4 : 1,
    name,
    dataDir: tmpdir(),
    strategies: STRATEGIES,
    media: {
      loadRecords: quick ? [2000, 8000] : [10_000, 40_000],
      writes: quick ? 1024 : 4096,
      runs,
      pmemLatency: true,
    },
    startRecords: quick ? [2000, 8000] : [10_000, 40_000],
  };
  const started = performance.now();
  const measured = calibrate(plan, say);
  const { fitThreadOverhead, withThreadOverhead, THREAD_RUNS } =
    await import('../calibrate/thread-overhead.js');
  const jobScenario: Omit<ExperimentConfig, 'dataDir'> = {
    ...DEMO_EXPERIMENT,
    strategies: ['heal'],
    keys: quick ? 2000 : 20_000,
    warmupMs: quick ? 300 : 2000,
    steadyMs: quick ? 300 : 2000,
    outageMs: quick ? 400 : 1000,
    tailMs: quick ? 100 : 500,
  };
  const overheadScenario: ExperimentConfig = {
    ...jobScenario,
    dataDir: defaultMediaDir(jobScenario),
  };
  const overhead = await fitThreadOverhead(measured, overheadScenario, runThreads, say);
  const restart =
    overhead.threadsRecoveryCpuMs === null
      ? "The thread run measured no recovering replica's CPU (per-thread CPU time needs Linux): a restart costs nothing beyond its handlers."
      : `Restart: what a restarted replica's thread spends beyond its handlers and jobs (its recovery's code runs for the first time in that isolate), ` +
        `fitted so that the simulator charges the recovering replica what its thread spent from its restart to serving reads: ` +
        `${overhead.threadsRecoveryCpuMs} ms on threads, ${overhead.simRecoveryCpuMs} ms in the fit's last simulator run.`;
  const profile = {
    ...withThreadOverhead(measured, overhead),
    method:
      `${measured.method} Jobs: the thread runtime's cost per job beyond its handlers (rings, parking and waking threads), ` +
      `fitted so that the simulator with every actor on 2 shared cores spends what worker threads spent per operation in the steady ` +
      `window of the same scenario (heal, ${overheadScenario.keys} keys, ${overheadScenario.workload}; medians of ${THREAD_RUNS} thread runs): ${overhead.threadsNsPerOp} ns of CPU per ` +
      `operation on threads (${overhead.threadCores} cores' worth, ${overhead.threadOpsPerSec} ops/s), ${overhead.handlersNsPerOp} ns of handlers, ` +
      `codec and media, ${overhead.jobsPerOp} jobs per operation. ${restart}`,
  };
  return {
    profile,
    plan,
    overhead,
    wallSec: Math.round((performance.now() - started) / 1000),
  };
}

async function runCalibration(values: OptionValues): Promise<number> {
  const quick = values['quick'] === true;
  const o = OPTIONS;
  const runs = intFlag(values, 'runs', quick ? o.runs.quick : o.runs.default, 1, 50);
  const name = typeof values['name'] === 'string' ? values['name'] : defaultName();
  const { profile, plan, overhead, wallSec } = await measureProfile(quick, runs, name);
  const publish = values['publish'] === true;
  const dir = resultsDir(values, BENCH_RESULTS_DIR);
  const profilePath = publish ? DEFAULT_PROFILE_PATH : join(dir, 'cost-profile.json');
  writeFileSync(profilePath, `${JSON.stringify(profile, null, 2)}\n`);
  say(`wrote the profile to ${relative(process.cwd(), profilePath) || profilePath}`);
  const rows = profileRows(profile);
  return publishReport(
    values,
    {
      command: 'calibrate',
      name: 'calibrate',
      title: `Cost profile ${profile.name}`,
      config: {
        ...plan,
        dataDir: undefined,
        profile: publish ? DEFAULT_PROFILE_NAME : profilePath,
        wallSec,
        threadOverhead: overhead,
      },
      rows,
      table: markdownTable(
        ['party', 'cost', 'ns', 'ns per byte'],
        rows.map((r) => [
          r.party,
          r.cost,
          formatNumber(r.ns),
          r.nsPerByte === 0 ? '-' : formatNumber(r.nsPerByte),
        ]),
      ),
      notes: [
        `Profile: ${relative(process.cwd(), profilePath) || profilePath} (${wallSec} s to measure). Method: ${profile.method}`,
        `Machine: ${JSON.stringify(profile.machine)}.`,
        'Every simulator run with this profile (`heal recover --runtime sim --cost-profile FILE`, `heal sweep`) names it in its report.',
      ].join('\n\n'),
    },
    dir,
  );
}

/** One thread run of the experiment, with the cores' worth of CPU the process used in its steady windows. */
async function runThreads(
  config: ExperimentConfig,
): Promise<{ rows: StrategyRun[]; cores: number }> {
  const { runExperiment } = await import('../experiment/run-experiment.js');
  const { median } = await import('../calibrate/fit.js');
  const { cpuNs } = await import('../calibrate/clock.js');
  let mark: { cpuNs: number; wallMs: number } | undefined;
  const used: number[] = [];
  const rows = await runExperiment(config, (p) => {
    if (p.stage === 'steady') mark = { cpuNs: cpuNs(), wallMs: performance.now() };
    else if (p.stage === 'outage' && mark) {
      used.push((cpuNs() - mark.cpuNs) / ((performance.now() - mark.wallMs) * 1e6));
      mark = undefined;
    }
  });
  return { rows, cores: used.length > 0 ? median(used) : 2 };
}

async function runValidation(values: OptionValues): Promise<number> {
  const quick = values['quick'] === true;
  const o = OPTIONS;
  const given =
    typeof values['cost-profile'] === 'string'
      ? values['cost-profile']
      : quick
        ? o['cost-profile'].quick
        : undefined;
  const dir = resultsDir(values, BENCH_RESULTS_DIR);
  let profile: LoadedProfile | undefined;
  if (given === undefined) {
    say('measuring a cost profile first (as heal calibrate does)');
    // Never with --quick, which takes the shipped profile (see OPTIONS['cost-profile']).
    const measured = await measureProfile(false, o.runs.default, defaultName());
    const path = join(dir, 'validate-profile.json');
    writeFileSync(path, `${JSON.stringify(measured.profile, null, 2)}\n`);
    say(`wrote the profile to ${relative(process.cwd(), path) || path}`);
    profile = { profile: measured.profile, path: relative(process.cwd(), path) || path };
  } else {
    profile = await simProfile({ costProfile: given });
  }
  if (!profile)
    throw new UsageError(
      '--validate needs a cost profile (--cost-profile none has nothing to validate)',
    );
  const scenario: Omit<ExperimentConfig, 'dataDir'> = {
    ...DEMO_EXPERIMENT,
    strategies: listFlag(values, 'strategy', EXPERIMENT_STRATEGY_NAMES, ['heal']),
    keys: intFlag(values, 'keys', o.keys.default, 200, 10_000_000),
    seed: intFlag(values, 'seed', o.seed.default, 0, 2 ** 31),
  };
  const config: ExperimentConfig = { ...scenario, dataDir: defaultMediaDir(scenario) };
  const threadRuns = intFlag(
    values,
    'threads-runs',
    quick ? o['threads-runs'].quick : o['threads-runs'].default,
    1,
    20,
  );
  const { validate, BAR_RATIO } = await import('../calibrate/validate.js');
  const { profileSummary } = await import('../sim/sim-report.js');
  const result = await validate(config, profile, threadRuns, runThreads, say);
  const pct = (v: number | null): string => (v === null ? '-' : formatNumber(v));
  return publishReport(
    values,
    {
      command: 'calibrate --validate',
      name: 'validate',
      title: `The simulator against threads: ${profile.profile.name}`,
      config: {
        ...config,
        threadRuns,
        costProfile: profileSummary(profile),
        threadCores: result.threadCores,
        loadAvg: result.loadAvg,
        threadsWallSec: result.threadsWallSec,
        simWallSec: result.simWallSec,
      },
      rows: result.rows,
      table: markdownTable(
        [
          'strategy',
          'metric',
          'threads',
          'sim',
          'ratio',
          `within ${BAR_RATIO.min}-${BAR_RATIO.max}x`,
          'sim, 2 whole cores',
          'thread runs',
        ],
        result.rows.map((r) => [
          r.strategy,
          r.metric,
          pct(r.threads),
          pct(r.sim),
          r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`,
          r.withinBar === null ? '-' : r.withinBar ? 'yes' : 'no',
          pct(r.simTwoCores),
          r.threadRuns.map(pct).join(', '),
        ]),
      ),
      notes: [
        `Scenario: the recovery experiment with the demo's defaults (${config.replicas} replicas, ${config.clients} clients x ${config.window}, ${config.workload}, ` +
          `${formatNumber(config.keys)} keys, ${config.medium} with its latency model, ${config.model}), ${threadRuns} run(s) on worker threads (medians), and in the ` +
          'simulator with every replica and client on one machine of 2 cores, the loopback link and the profile.',
        `This machine is shared: the thread cluster used ${result.threadCores.join(', ')} cores' worth of CPU in its steady windows (load average ` +
          `${result.loadAvg.before.join(', ')} before, ${result.loadAvg.after.join(', ')} after). "sim" gives the simulator that much CPU (every cost scaled by ` +
          '2 / the median of those); "sim, 2 whole cores" is the same run with the machine to itself. The bar: steadyOpsPerSec and recoveryMs ' +
          `within ${BAR_RATIO.min}-${BAR_RATIO.max}x.`,
        `Wall-clock: threads ${result.threadsWallSec} s, simulator ${result.simWallSec} s.`,
      ].join('\n\n'),
    },
    dir,
  );
}

export const calibrateCommand: Command = {
  name: 'calibrate',
  summary:
    "measure what handlers, codec and media cost here: the simulator's cost profile (--validate: check it against threads)",
  about: [
    "Runs the real replica handlers with the codec (in the simulator, every handler timed), a replica's start,",
    "and each storage medium's operations on this machine, and writes a cost profile: what the simulator's",
    "CPU model charges (heal recover --runtime sim --cost-profile FILE); the thread runtime's own cost per job",
    "and a restarted replica's extra CPU are fitted to a short run on worker threads. --validate measures a",
    'profile (or takes --cost-profile), runs one scenario on threads and in the simulator and prints rows',
    '{metric, threads, sim, ratio}.',
  ],
  options: OPTIONS,
  async run(values) {
    const validating = values['validate'] === true;
    const misplaced = (validating ? CALIBRATION_FLAGS : VALIDATION_FLAGS).find(
      (f) => values[f] !== undefined,
    );
    if (misplaced !== undefined)
      throw new UsageError(
        `--${misplaced} ${validating ? 'does not apply to --validate' : 'applies only to --validate'}`,
      );
    return validating ? runValidation(values) : runCalibration(values);
  },
};
