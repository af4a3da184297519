/**
 * A PTable's fingerprint sums (tables formatted with `fingerprintBuckets`; layout in
 * ptable-layout.ts): per bucket, two u32 lanes, each the sum mod 2^32 of its records' lanes. A
 * put or delete computes the bucket's sums after it into its intent, so its last step stores
 * absolute values (redoing it is idempotent).
 */
import { pmemErrors } from './errors.js';
import { FP_SUM_BYTES, NO_SLOT, type ResolvedLayout } from './ptable-layout.js';
import type { Fingerprint } from './ptable-record.js';
import type { Slots } from './ptable-slots.js';
import type { PmemRegion } from './region.js';

/** A bucket and the values its two lanes take. */
export type BucketSums = [bucket: number, lane0: number, lane1: number];

export class FingerprintSums {
  private readonly view: Buffer;
  private readonly dv: DataView;

  constructor(
    private readonly region: PmemRegion,
    private readonly layout: ResolvedLayout,
    private readonly slots: Slots,
  ) {
    this.view = region.view;
    this.dv = new DataView(region.view.buffer, region.view.byteOffset, region.sizeBytes);
  }

  /** The bucket's sums after a put of `fp` replacing `prevSlot`'s record. */
  afterPut(fp: Fingerprint | undefined, prevSlot: number): BucketSums {
    if (fp === undefined) return [0, 0, 0];
    const at = this.layout.sumsOffset + fp.bucket * FP_SUM_BYTES;
    let lane0 = this.dv.getUint32(at, true) + fp.lane0;
    let lane1 = this.dv.getUint32(at + 4, true) + fp.lane1;
    if (prevSlot !== NO_SLOT) {
      const slots = this.slots;
      const base = slots.base(prevSlot);
      // The sums lose what the old version added: it must be intact to say what that was.
      slots.verify(prevSlot, base);
      const bucket = slots.bucket(base);
      if (bucket !== fp.bucket)
        throw pmemErrors.argument(
          this.region.path,
          'fingerprint.bucket',
          `${bucket}, the bucket of the key's current record (a key's bucket never changes)`,
          fp.bucket,
        );
      lane0 -= slots.lane0(base);
      lane1 -= slots.lane1(base);
    }
    return [fp.bucket, lane0 >>> 0, lane1 >>> 0];
  }

  /** The bucket's sums after deleting `slot`'s record. */
  afterDelete(slot: number): BucketSums {
    if (this.layout.fingerprintBuckets === 0) return [0, 0, 0];
    const slots = this.slots;
    const base = slots.base(slot);
    slots.verify(slot, base);
    const bucket = slots.bucket(base);
    const at = this.layout.sumsOffset + bucket * FP_SUM_BYTES;
    const lane0 = this.dv.getUint32(at, true) - slots.lane0(base);
    const lane1 = this.dv.getUint32(at + 4, true) - slots.lane1(base);
    return [bucket, lane0 >>> 0, lane1 >>> 0];
  }

  /** Stores a bucket's sums and flushes them (nothing in a table without sums). */
  store(bucket: number, lane0: number, lane1: number): void {
    if (this.layout.fingerprintBuckets === 0) return;
    const at = this.layout.sumsOffset + bucket * FP_SUM_BYTES;
    this.dv.setUint32(at, lane0, true);
    this.dv.setUint32(at + 4, lane1, true);
    this.region.flush(at, FP_SUM_BYTES);
  }

  /** A copy of every bucket's sums: `[lane0, lane1]` at `2 * bucket`. */
  copy(): Uint32Array {
    const { fingerprintBuckets, sumsOffset } = this.layout;
    // One copy of the area (a restart reads it: no loop per word); the host is little-endian (asserted).
    return new Uint32Array(
      this.view.buffer,
      this.view.byteOffset + sumsOffset,
      2 * fingerprintBuckets,
    ).slice();
  }
}
