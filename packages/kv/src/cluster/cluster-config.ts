import type { ReplicaConfig } from '../protocol/replica.js';
import type { Timing } from '../protocol/timing.js';

/** What every replica of a cluster runs with, in either runtime (see ReplicaConfig). */
export interface ClusterReplicaOptions {
  /** Recovery strategy (default 'full-copy', kv's built-in); the module must have it. */
  strategy?: string;
  strategyOptions?: ReplicaConfig['strategyOptions'];
  /** Storage medium (default 'volatile'). */
  medium?: ReplicaConfig['medium'];
  /** Directory of the file-backed media (`wal`, `pmem`); see ReplicaConfig.dataDir. */
  dataDir?: string;
  /** Persistency model (default 'synch'). */
  model?: ReplicaConfig['model'];
  /** See ReplicaConfig.pmemCapacity, pmemValueBytesMax and pmemLatency. */
  pmemCapacity?: number;
  pmemValueBytesMax?: number;
  pmemLatency?: boolean;
  /** Initial contents of every replica (see ReplicaConfig.dataset). */
  dataset?: ReplicaConfig['dataset'];
  faults?: ReplicaConfig['faults'];
  /** Over the runtime's defaults. */
  timing?: Partial<Timing>;
}

const PASSED_AS_GIVEN = [
  'strategyOptions',
  'dataDir',
  'model',
  'pmemCapacity',
  'pmemValueBytesMax',
  'pmemLatency',
  'dataset',
  'faults',
] as const;

/** The replicas' config: the runtime's timing under the given one, defaults, and what was given. */
export function replicaConfigOf(
  replicas: number,
  timing: Timing,
  options: ClusterReplicaOptions,
): ReplicaConfig {
  const config: ReplicaConfig = {
    replicas,
    timing: { ...timing, ...options.timing },
    strategy: options.strategy ?? 'full-copy',
    medium: options.medium ?? 'volatile',
  };
  for (const key of PASSED_AS_GIVEN) {
    if (options[key] !== undefined) Object.assign(config, { [key]: options[key] });
  }
  return config;
}
