import { TaobenchWorkload } from './taobench.js';
import { YCSB_SPECS, YcsbWorkload } from './ycsb.js';

/**
 * One operation of a workload against the non-transactional KV store. `key` is a dataset
 * index in [0, keys); the runner maps it to a key string.
 */
export interface WorkloadOp {
  /** 'rmw' reads a key and then writes it (YCSB F's read-modify-write). */
  kind: 'get' | 'put' | 'rmw';
  key: number;
  /** Size of the value a put or rmw writes; 0 for a get. */
  valueBytes: number;
}

export type WorkloadName = 'taobench' | 'ycsb-a' | 'ycsb-b' | 'ycsb-c' | 'ycsb-f';

export const WORKLOAD_NAMES: readonly WorkloadName[] = [
  'taobench',
  'ycsb-a',
  'ycsb-b',
  'ycsb-c',
  'ycsb-f',
];

/**
 * A generator of operations. It owns no randomness: `next` draws only from the `random`
 * it is given (uniform in [0, 1)), so one seeded source replays one sequence. `next` is O(1).
 * A generator may keep state between calls (TAOBench emits a transaction's operations one per
 * call), so give each client its own instance.
 */
export interface Workload {
  readonly name: WorkloadName;
  readonly keys: number;
  /** Expected fraction of operations that are pure gets. */
  readonly readRatio: number;
  next(random: () => number): WorkloadOp;
  /** Value size of key `key` in the preloaded dataset (the same on every call). */
  datasetValueBytes(key: number): number;
  /** The parameters, for reports. */
  describe(): Record<string, string | number>;
}

export interface WorkloadOptions {
  keys: number;
  /** Size of every value (YCSB default 100, TAOBench default 150). */
  valueBytes?: number;
}

/** Builds the named workload; a RangeError names the bad name or option. */
export function createWorkload(name: string, options: WorkloadOptions): Workload {
  if (name === 'taobench') return new TaobenchWorkload(options);
  const spec = YCSB_SPECS.find((s) => s.name === name);
  if (spec !== undefined) return new YcsbWorkload(spec, options);
  throw new RangeError(
    `workload: unknown name "${name}"; expected one of ${WORKLOAD_NAMES.join(', ')}`,
  );
}
