/**
 * A PTable's not-Valid bitmap (layout in ptable-layout.ts): one bit per slot, set for every slot
 * whose record is not Valid and maybe for a few others. A slot's bit is durably set before its
 * record may be not-Valid (a put's P1, or setState's first persist) and cleared only once the
 * slot is Valid or free, so the set bits cover every not-Valid record; `open` clears the stale
 * ones a crash left. Finding the not-Valid records costs slotCount / 32 words plus one check per
 * set bit.
 */
import { RecordState } from './ptable-record.js';
import type { ResolvedLayout } from './ptable-layout.js';
import type { Slots } from './ptable-slots.js';
import type { PmemRegion } from './region.js';

export class NotValidBitmap {
  private readonly view: Buffer;
  private readonly dv: DataView;

  constructor(
    private readonly region: PmemRegion,
    private readonly layout: ResolvedLayout,
  ) {
    this.view = region.view;
    this.dv = new DataView(region.view.buffer, region.view.byteOffset, region.sizeBytes);
  }

  isSet(slot: number): boolean {
    return (
      (this.dv.getUint32(this.layout.bitmapOffset + 4 * (slot >>> 5), true) &
        (1 << (slot & 31))) !==
      0
    );
  }

  /** Sets or clears the slot's bit; flushes and returns true if it changed. */
  set(slot: number, on: boolean): boolean {
    const at = this.layout.bitmapOffset + 4 * (slot >>> 5);
    const word = this.dv.getUint32(at, true);
    const bit = 1 << (slot & 31);
    if (((word & bit) !== 0) === on) return false;
    this.dv.setUint32(at, on ? word | bit : word & ~bit, true);
    this.region.flush(at, 4);
    return true;
  }

  /** Calls `f` with every slot whose bit is set, in slot order. */
  forEach(f: (slot: number) => void): void {
    const { bitmapOffset, slotCount } = this.layout;
    const words = Math.ceil(slotCount / 32);
    const bits = new Int32Array(this.view.buffer, this.view.byteOffset + bitmapOffset, words);
    for (let w = 0; w < words; w++) {
      let word = bits[w] as number;
      while (word !== 0) {
        const low = word & -word;
        f(32 * w + 31 - Math.clz32(low));
        word ^= low;
      }
    }
  }

  /**
   * open: counts the not-Valid records and clears the bits that name none; `kept` lists the
   * slots whose bits stay set.
   */
  clean(slots: Slots): { notValid: number; staleBits: number; kept: number[] } {
    let notValid = 0;
    const stale: number[] = [];
    const kept: number[] = [];
    this.forEach((slot) => {
      const base = slots.base(slot);
      const committed = slot < this.layout.slotCount && slots.isCommitted(base);
      if (!committed || slots.state(base) === RecordState.Valid) {
        stale.push(slot);
        return;
      }
      kept.push(slot);
      if (slots.problem(base) !== undefined) slots.reportCorrupt(slot, base);
      else notValid++;
    });
    for (const slot of stale) this.set(slot, false);
    if (stale.length > 0) this.region.fence();
    return { notValid, staleBits: stale.length, kept };
  }
}
