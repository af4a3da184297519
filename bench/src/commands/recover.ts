import type {
  Command,
  OptionDef,
  OptionDefault,
  OptionTable,
  OptionValues,
} from '../cli/command.js';
import { UsageError } from '../cli/command.js';
import { choiceFlag } from '../cli/flags.js';
import { formatDefault } from '../cli/help.js';
import { DEMO_EXPERIMENT, type ExperimentConfig } from '../experiment/config.js';
import { experimentOptions, parseExperimentConfig } from '../experiment/options.js';
import { BENCH_RESULTS_NAME, outputOptions } from '../report/results-dir.js';
import type { LoadedProfile } from '../sim/cost-profiles.js';
import {
  parseSimModel,
  SIM_EXPERIMENT,
  SIM_MAX_REPLICAS,
  SIM_MODEL,
  SIM_SECTION,
  simModelOptions,
  type SimExperimentConfig,
  type SimModelConfig,
} from '../sim/sim-config.js';

const RUNTIMES = ['sim', 'threads'] as const;
const DEFAULT_RUNTIME = 'sim';
const THREADS_ONLY = 'threads only:';
/** Flags of the threads' experiment the simulator has no use for (the cost profile charges persisting). */
const THREADS_ONLY_FLAGS = ['pmem-latency'] as const;

/** The simulator's defaults of one command, beside the threads'. */
export interface SimDefaults {
  experiment: Omit<ExperimentConfig, 'dataDir'>;
  model: SimModelConfig;
}

export const SIM_RECOVER: SimDefaults = { experiment: SIM_EXPERIMENT, model: SIM_MODEL };

/**
 * `heal recover`'s options, for either runtime: the recovery experiment's flags (help shows
 * both defaults where they differ), the simulator's own (`sim only:`), and pmem's latency model
 * (`threads only:`). `output` are its output options.
 */
export function recoverOptions(
  sim: SimDefaults,
  threads: Omit<ExperimentConfig, 'dataDir'>,
  output: OptionTable,
): OptionTable {
  const s: OptionTable = experimentOptions(sim.experiment);
  const t: OptionTable = experimentOptions(threads);
  const both = (
    a: OptionDefault | undefined,
    b: OptionDefault | undefined,
  ): OptionDefault | undefined => {
    if (a === undefined || b === undefined) return b;
    const [x, y] = [formatDefault(a), formatDefault(b)];
    return x === y ? x : `${x} in sim, ${y} on threads`;
  };
  const shared: Record<string, OptionDef> = {};
  for (const [name, def] of Object.entries(t)) {
    if ((THREADS_ONLY_FLAGS as readonly string[]).includes(name)) continue;
    const d = both(s[name]?.default, def.default);
    const { default: _omit, ...rest } = def;
    shared[name] = d === undefined ? rest : { ...rest, default: d };
  }
  shared['replicas'] = {
    ...(shared['replicas'] as OptionDef),
    help: `3..12 on threads, 3..${SIM_MAX_REPLICAS} in sim`,
  };
  const threadsOnly = Object.fromEntries(
    THREADS_ONLY_FLAGS.map((name) => [name, { ...(t[name] as OptionDef), section: THREADS_ONLY }]),
  );
  return {
    runtime: {
      type: 'string',
      arg: RUNTIMES.join('|'),
      default: DEFAULT_RUNTIME,
      help: [
        'the deterministic simulator (virtual time, with the CPU and bandwidth',
        'models of a cost profile) or worker threads on this machine',
      ],
    },
    ...shared,
    ...output,
    ...simModelOptions(sim.model),
    ...threadsOnly,
  };
}

const OPTIONS = recoverOptions(
  SIM_RECOVER,
  DEMO_EXPERIMENT,
  outputOptions('recover.json, recover.md and throughput.svg', `${BENCH_RESULTS_NAME}/recover/`),
);

/** The flags of one section: given to the other runtime, they are an error rather than silently ignored. */
function sectionFlags(options: OptionTable, section: string): string[] {
  return Object.entries(options)
    .filter(([, def]) => def.section === section)
    .map(([name]) => name);
}

function rejectFlags(
  values: OptionValues,
  flags: readonly string[],
  runtime: string,
  hint: string,
): void {
  const given = flags.find((f) => values[f] !== undefined);
  if (given !== undefined)
    throw new UsageError(`--${given} does not apply to --runtime ${runtime} (${hint})`);
}

/** The runtime `--runtime` names. */
export function runtimeOf(values: OptionValues): (typeof RUNTIMES)[number] {
  return choiceFlag(values, 'runtime', RUNTIMES, DEFAULT_RUNTIME);
}

/** Rejects the flags of the runtime not chosen. */
export function checkRuntimeFlags(values: OptionValues, options: OptionTable = OPTIONS): void {
  if (runtimeOf(values) === 'threads')
    rejectFlags(
      values,
      sectionFlags(options, SIM_SECTION),
      'threads',
      "it runs on this machine's cores",
    );
  else
    rejectFlags(
      values,
      sectionFlags(options, THREADS_ONLY),
      'sim',
      'the cost profile charges what persisting costs',
    );
}

/** The simulator's experiment over defaults `d` (`heal recover --runtime sim`, `heal sweep`). */
export function parseSimExperiment(
  values: OptionValues,
  d: SimDefaults = SIM_RECOVER,
): SimExperimentConfig {
  return {
    ...parseExperimentConfig(values, d.experiment, SIM_MAX_REPLICAS),
    ...parseSimModel(values, d.model),
  };
}

/** The profile the config names (undefined for `none`); a bad one is a usage error naming the file. */
export async function simProfile(
  config: Pick<SimModelConfig, 'costProfile'>,
): Promise<LoadedProfile | undefined> {
  if (config.costProfile === 'none') return undefined;
  const { loadCostProfile } = await import('../sim/cost-profiles.js');
  try {
    return loadCostProfile(config.costProfile);
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(`--cost-profile: ${err.message}`);
    throw err;
  }
}

export const recoverCommand: Command = {
  name: 'recover',
  summary:
    'crash one replica under load, recover it with each strategy: the failure timeline, latency, degradation',
  about: [
    'The recovery experiment: per strategy a fresh cluster, the dataset, the workload, one replica crashed',
    'after the steady window, restarted after the outage; throughput in 10 ms buckets, failureMs,',
    'recoveryMs with phases, degradation and outageDegradation, in either runtime.',
  ],
  options: OPTIONS,
  async run(values) {
    checkRuntimeFlags(values);
    const title = (config: ExperimentConfig, where: string): string =>
      `Recovery of one replica: ${config.strategies.join(', ')}, ${config.workload} (${where})`;
    if (runtimeOf(values) === 'threads') {
      const config = parseExperimentConfig(values, DEMO_EXPERIMENT);
      const { runAndPublish } = await import('../experiment/publish.js');
      return runAndPublish({
        command: 'recover',
        values,
        config,
        title: title(config, 'worker threads'),
      });
    }
    const config = parseSimExperiment(values);
    const profile = await simProfile(config);
    const { runAndPublishSim } = await import('../sim/sim-report.js');
    return runAndPublishSim({
      command: 'recover',
      values,
      config,
      profile,
      title: title(config, 'simulator'),
    });
  },
};
