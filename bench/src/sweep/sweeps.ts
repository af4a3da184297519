import { PERSISTENCY_MODELS } from '@heal/kv/replica';
import type { ExperimentConfig } from '../experiment/config.js';
import type { RecoverConfig } from '../recover/run-sim-recover.js';
import { WORKLOAD_NAMES } from '../workloads/index.js';

/** One point of a sweep: its label on the chart's x axis and what it changes in either runtime's config. */
export interface SweepPoint {
  readonly x: number | string;
  readonly sim: Partial<RecoverConfig>;
  readonly threads: Partial<ExperimentConfig>;
}

export interface Sweep {
  readonly name: string;
  readonly summary: string;
  readonly xLabel: string;
  points(keys: number): SweepPoint[];
}

const MEDIA = ['volatile', 'wal', 'pmem'] as const;
const same = <T extends object>(change: T): { sim: T; threads: T } => ({ sim: change, threads: change });

/** The recovery sweeps: each one command, every point running every strategy on the same seed. */
export const SWEEPS: readonly Sweep[] = [
  {
    name: 'models', summary: 'persistency model x storage medium', xLabel: 'model / medium',
    points: () => PERSISTENCY_MODELS.flatMap((model) => MEDIA.map((medium) => ({ x: `${model}/${medium}`, ...same({ model, medium }) }))),
  },
  {
    name: 'outage', summary: 'outage length', xLabel: 'outage (ms)',
    points: () => [250, 500, 1000, 2000, 4000].map((outageMs) => ({ x: outageMs, ...same({ outageMs }) })),
  },
  {
    name: 'dataset', summary: 'dataset size (keys)', xLabel: 'keys',
    // Not below 200 keys: TAOBench's 50 shards need 150.
    points: (keys) => [keys / 100, keys / 10, keys].map((k) => Math.max(200, Math.round(k)))
      .map((k) => ({ x: k, ...same({ keys: k }) })),
  },
  {
    name: 'replicas', summary: 'replicas 3..12', xLabel: 'replicas',
    points: () => [3, 6, 9, 12].map((replicas) => ({ x: replicas, ...same({ replicas }) })),
  },
  {
    // The simulator's uniform load takes a write ratio; on threads the workloads set it.
    name: 'write-ratio', summary: 'fraction of writes (simulator: --write-ratio; threads: the workloads)', xLabel: 'write ratio',
    points: () => [0.05, 0.25, 0.5, 0.75].map((writeRatio) => ({ x: writeRatio, sim: { writeRatio }, threads: {} })),
  },
];

/** On threads the write-ratio sweep runs each workload (its write ratio is its own). */
export function threadPoints(sweep: Sweep, keys: number): SweepPoint[] {
  if (sweep.name !== 'write-ratio') return sweep.points(keys);
  return WORKLOAD_NAMES.map((workload) => ({ x: workload, sim: {}, threads: { workload } }));
}

export const SWEEP_NAMES = SWEEPS.map((s) => s.name);
