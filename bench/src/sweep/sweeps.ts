import { PERSISTENCY_MODELS } from '@heal/kv/replica';
import type { ExperimentConfig } from '../experiment/config.js';
import { WORKLOAD_NAMES } from '../workloads/index.js';

/** One point of a sweep: its label on the chart's x axis and what it changes in the experiment's config. */
export interface SweepPoint {
  readonly x: number | string;
  readonly change: Partial<ExperimentConfig>;
}

export type SweepRuntime = 'sim' | 'threads';

export interface Sweep {
  readonly name: string;
  readonly summary: string;
  readonly xLabel: string;
  points(keys: number, runtime: SweepRuntime): SweepPoint[];
  /** Published figures to show beside ours (Markdown lines). */
  readonly reference?: readonly string[];
}

const MEDIA = ['volatile', 'wal', 'pmem'] as const;

/** Replica counts: 3 to 12 in either runtime; the simulator adds 24 and 48 to show the trend. */
export const SWEEP_REPLICAS: Record<SweepRuntime, readonly number[]> = {
  threads: [3, 6, 9, 12],
  sim: [3, 6, 9, 12, 24, 48],
};

/** The recovery sweeps: each one command, every point running every strategy on the same seed. */
export const SWEEPS: readonly Sweep[] = [
  {
    name: 'models',
    summary: 'persistency model x storage medium',
    xLabel: 'model / medium',
    points: () =>
      PERSISTENCY_MODELS.flatMap((model) =>
        MEDIA.map((medium) => ({ x: `${model}/${medium}`, change: { model, medium } })),
      ),
  },
  {
    name: 'outage',
    summary: 'outage length',
    xLabel: 'outage (ms)',
    points: () =>
      [250, 500, 1000, 2000, 4000].map((outageMs) => ({ x: outageMs, change: { outageMs } })),
  },
  {
    name: 'dataset',
    summary: 'dataset size (keys)',
    xLabel: 'keys',
    // Not below 200 keys: TAOBench's 50 shards need 150.
    points: (keys) =>
      [keys / 100, keys / 10, keys]
        .map((k) => Math.max(200, Math.round(k)))
        .map((k) => ({ x: k, change: { keys: k } })),
  },
  {
    name: 'replicas',
    summary: 'replicas 3..12 (simulator: and 24, 48)',
    xLabel: 'replicas',
    points: (_keys, runtime) =>
      SWEEP_REPLICAS[runtime].map((replicas) => ({ x: replicas, change: { replicas } })),
    reference: ['Published (the paper): HEAL recovers in under 250 ms at 12 nodes.'],
  },
  {
    // Each workload has its own write ratio (TAOBench 0.2%, YCSB A 50%, B 5%, C 0%, F 50% rmw).
    name: 'write-ratio',
    summary: 'workloads and their write ratios',
    xLabel: 'workload',
    points: () => WORKLOAD_NAMES.map((workload) => ({ x: workload, change: { workload } })),
  },
];

export const SWEEP_NAMES = SWEEPS.map((s) => s.name);
