import { checkKey, checkKeys, checkValueBytes } from './checks.js';
import type { Workload, WorkloadName, WorkloadOp, WorkloadOptions } from './workload.js';
import { ScrambledZipfianGenerator, ZIPFIAN_CONSTANT } from './zipfian.js';

/**
 * One YCSB core workload (brianfrankcooper/YCSB workloads/workloada, workloadb, workloadc,
 * workloadf): the fraction of reads, and what the other operations are. All four use
 * requestdistribution=zipfian, which CoreWorkload
 * (core/src/main/java/site/ycsb/workloads/CoreWorkload.java) serves with a
 * ScrambledZipfianGenerator.
 */
export interface YcsbSpec {
  readonly name: Extract<WorkloadName, `ycsb-${string}`>;
  /** readproportion. */
  readonly readProportion: number;
  /** The rest of the operations: updateproportion (puts) or readmodifywriteproportion (rmws). */
  readonly writeProportion: number;
  readonly writeKind: 'put' | 'rmw';
}

export const YCSB_SPECS: readonly YcsbSpec[] = [
  { name: 'ycsb-a', readProportion: 0.5, writeProportion: 0.5, writeKind: 'put' },
  { name: 'ycsb-b', readProportion: 0.95, writeProportion: 0.05, writeKind: 'put' },
  { name: 'ycsb-c', readProportion: 1, writeProportion: 0, writeKind: 'put' },
  { name: 'ycsb-f', readProportion: 0.5, writeProportion: 0.5, writeKind: 'rmw' },
];

/**
 * YCSB's record is fieldcount=10 fields of fieldlength=100 B, and an update or
 * read-modify-write rewrites one field (writeallfields=false). Our store keeps one opaque value
 * per key, so a key holds one 100 B field: each write moves the bytes a YCSB update moves.
 */
export const YCSB_VALUE_BYTES = 100;

export class YcsbWorkload implements Workload {
  readonly name: YcsbSpec['name'];
  readonly keys: number;
  readonly readRatio: number;
  private readonly spec: YcsbSpec;
  private readonly valueBytes: number;
  private readonly chooser: ScrambledZipfianGenerator;

  constructor(spec: YcsbSpec, options: WorkloadOptions) {
    if (Math.abs(spec.readProportion + spec.writeProportion - 1) > 1e-9) {
      throw new RangeError(`spec: readProportion + writeProportion must be 1 for ${spec.name}`);
    }
    checkKeys(options.keys, 1, spec.name);
    const valueBytes = options.valueBytes ?? YCSB_VALUE_BYTES;
    checkValueBytes(valueBytes);
    this.name = spec.name;
    this.keys = options.keys;
    this.readRatio = spec.readProportion;
    this.spec = spec;
    this.valueBytes = valueBytes;
    // YCSB sizes the chooser recordcount + 1 and redraws keys past the last inserted one
    // (CoreWorkload.nextKeynum); sized to `keys` exactly, no draw needs redrawing.
    this.chooser = new ScrambledZipfianGenerator(options.keys);
  }

  next(random: () => number): WorkloadOp {
    // The operation first, then its key, as CoreWorkload.doTransaction does.
    const read = random() < this.spec.readProportion;
    const key = this.chooser.next(random);
    if (read) return { kind: 'get', key, valueBytes: 0 };
    return { kind: this.spec.writeKind, key, valueBytes: this.valueBytes };
  }

  datasetValueBytes(key: number): number {
    checkKey(key, this.keys);
    return this.valueBytes;
  }

  describe(): Record<string, string | number> {
    return {
      workload: this.name,
      keys: this.keys,
      readProportion: this.spec.readProportion,
      [this.spec.writeKind === 'put' ? 'updateProportion' : 'readModifyWriteProportion']:
        this.spec.writeProportion,
      requestDistribution: 'scrambled zipfian',
      zipfianConstant: ZIPFIAN_CONSTANT,
      valueBytes: this.valueBytes,
    };
  }
}
