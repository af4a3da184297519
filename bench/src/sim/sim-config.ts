import { LINK_PRESET_NAMES, type LinkPresetName } from '@heal/actors/sim';
import type { OptionTable, OptionValues } from '../cli/command.js';
import { choiceFlag, intFlag } from '../cli/flags.js';
import { DEMO_EXPERIMENT, type ExperimentConfig } from '../experiment/config.js';
import { DEFAULT_PROFILE_NAME } from './cost-profiles.js';

/** How the simulator models the machines the experiment runs on. */
export interface SimModelConfig {
  /** `default`, a cost profile file (`heal calibrate`), or `none`: no CPU model, handlers take no time. */
  costProfile: string;
  /** Cores of each replica's and each client's own machine (when `sharedCores` is 0). */
  cores: number;
  /** Every replica and client on one machine of this many cores (0: each on a machine of its own). */
  sharedCores: number;
  /** The network between the machines: latency and bandwidth (@heal/actors nic.ts). */
  link: LinkPresetName;
  /** Check the recorded history for linearizability (and the replicas for equality, always). */
  check: boolean;
}

/** The recovery experiment in the simulator. */
export type SimExperimentConfig = ExperimentConfig & SimModelConfig;

/** A cluster: each replica and client on a machine of its own with one core, a 10 GbE LAN. */
export const SIM_MODEL: SimModelConfig = {
  costProfile: 'default',
  cores: 1,
  sharedCores: 0,
  link: 'lan10g',
  check: true,
};

/**
 * The simulator's experiment defaults: the demo's cluster and workload with shorter phases
 * (virtual time is exact, so short windows measure what long ones do on threads) and pmem's
 * latency model off (the cost profile charges what persisting costs).
 */
export const SIM_EXPERIMENT: Omit<ExperimentConfig, 'dataDir'> = {
  ...DEMO_EXPERIMENT,
  keys: 100_000,
  pmemLatency: false,
  warmupMs: 300,
  steadyMs: 500,
  outageMs: 1000,
  tailMs: 300,
};

/** Most replicas the simulator runs (a view's members fit in 64 bits). */
export const SIM_MAX_REPLICAS = 64;
const MAX_CORES = 1024;

export const SIM_SECTION = 'sim only:';

/** The simulator's own flags, in the `sim only:` section of help. */
export function simModelOptions(d: SimModelConfig): OptionTable {
  return {
    'cost-profile': {
      type: 'string',
      arg: 'FILE',
      default: d.costProfile,
      section: SIM_SECTION,
      help: [
        `what work costs (heal calibrate): default is ${DEFAULT_PROFILE_NAME};`,
        'none: no CPU model (handlers take no time)',
      ],
    },
    cores: {
      type: 'string',
      arg: 'N',
      default: d.cores,
      section: SIM_SECTION,
      help: "cores of each replica's and each client's own machine",
    },
    'shared-cores': {
      type: 'string',
      arg: 'N',
      default: d.sharedCores,
      section: SIM_SECTION,
      help: [
        'every replica and client on one machine of N cores (as threads on',
        'this machine); 0: each on a machine of its own',
      ],
    },
    link: {
      type: 'string',
      arg: LINK_PRESET_NAMES.join('|'),
      default: d.link,
      section: SIM_SECTION,
      help: 'latency and bandwidth between machines',
    },
    'no-check': {
      type: 'boolean',
      section: SIM_SECTION,
      help: 'skip the linearizability check of the history',
    },
  };
}

export function parseSimModel(values: OptionValues, d: SimModelConfig = SIM_MODEL): SimModelConfig {
  const profile = values['cost-profile'];
  return {
    costProfile: typeof profile === 'string' ? profile : d.costProfile,
    cores: intFlag(values, 'cores', d.cores, 1, MAX_CORES),
    sharedCores: intFlag(values, 'shared-cores', d.sharedCores, 0, MAX_CORES),
    link: choiceFlag(values, 'link', LINK_PRESET_NAMES, d.link),
    check: values['no-check'] !== true && d.check,
  };
}
