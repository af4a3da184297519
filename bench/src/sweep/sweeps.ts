import { PERSISTENCY_MODELS } from '@heal/kv';
import type { RecoverConfig } from '../recover/run-sim-recover.js';

/** One point of a sweep: its label on the chart's x axis and the config it changes. */
export interface SweepPoint {
  readonly x: number | string;
  readonly change: Partial<RecoverConfig>;
}

export interface Sweep {
  readonly name: string;
  readonly summary: string;
  readonly xLabel: string;
  points(base: RecoverConfig): SweepPoint[];
}

const MEDIA = ['volatile', 'wal', 'pmem'] as const;

/** The sweeps of issue 7: each one command, every point running every strategy on the same seed. */
export const SWEEPS: readonly Sweep[] = [
  {
    name: 'models', summary: 'persistency model x storage medium', xLabel: 'model / medium',
    points: () => PERSISTENCY_MODELS.flatMap((model) => MEDIA.map((medium) => ({ x: `${model}/${medium}`, change: { model, medium } }))),
  },
  {
    name: 'outage', summary: 'outage length', xLabel: 'outage (ms)',
    points: () => [250, 500, 1000, 2000, 4000].map((outageMs) => ({ x: outageMs, change: { outageMs } })),
  },
  {
    name: 'dataset', summary: 'dataset size (keys)', xLabel: 'keys',
    points: (base) => [base.keys / 100, base.keys / 10, base.keys].map((k) => Math.max(100, Math.round(k)))
      .map((keys) => ({ x: keys, change: { keys } })),
  },
  {
    name: 'replicas', summary: 'replicas 3..12', xLabel: 'replicas',
    points: () => [3, 6, 9, 12].map((replicas) => ({ x: replicas, change: { replicas } })),
  },
  {
    name: 'write-ratio', summary: 'fraction of writes in the load', xLabel: 'write ratio',
    points: () => [0.05, 0.25, 0.5, 0.75].map((writeRatio) => ({ x: writeRatio, change: { writeRatio } })),
  },
];

export const SWEEP_NAMES = SWEEPS.map((s) => s.name);
