export { createWorkload, WORKLOAD_NAMES } from './workload.js';
export type { Workload, WorkloadName, WorkloadOp, WorkloadOptions } from './workload.js';
export { YCSB_SPECS, YCSB_VALUE_BYTES, YcsbWorkload } from './ycsb.js';
export type { YcsbSpec } from './ycsb.js';
export { TaobenchWorkload } from './taobench.js';
export { TAOBENCH_WORKLOAD_O } from './taobench-params.js';
export type { TaobenchParams, TaobenchWriteTypes } from './taobench-params.js';
export {
  fnvhash64,
  MAX_SCRAMBLED_ITEMS,
  SCRAMBLED_ZETAN,
  ScrambledZipfianGenerator,
  zeta,
  ZIPFIAN_CONSTANT,
  ZipfianGenerator,
} from './zipfian.js';
export { WeightedChoice } from './weighted-choice.js';
export { MAX_KEYS } from './checks.js';
