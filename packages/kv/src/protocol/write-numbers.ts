import assert from 'node:assert/strict';
import type { KvStorage } from '../storage/kv-storage.js';

/** Write numbers are reserved on the medium in blocks, so a restart never reuses one. */
export const SEQ_RESERVE_BLOCK = 1024;
/**
 * Incarnation `i` numbers its writes from at least `i` times this: a medium that keeps no
 * high-water mark (volatile) must not hand out a write number of an earlier life, which other
 * replicas' version vectors may already cover. An incarnation makes fewer writes than this.
 */
export const SEQ_INCARNATION_STRIDE = 2 ** 32;

/** The floor of an incarnation's write numbers: above every one this replica handed out before. */
export function seqFloor(storage: KvStorage, incarnation: number): number {
  return Math.max(storage.loadSeqHighWater(), incarnation * SEQ_INCARNATION_STRIDE);
}

/**
 * The write numbers (`seq`) this replica gives the writes it originates (docs/ARCHITECTURE.md,
 * "Timestamps and write numbers"): increasing, and reserved on the medium a block ahead.
 */
export class WriteNumbers {
  #seq = 0;
  #reserved = 0;

  constructor(private readonly storage: KvStorage) {}

  /** The next write number is above `floor` (see seqFloor). */
  startAbove(floor: number): void {
    this.#seq = floor;
    this.#reserved = floor;
  }

  next(): number {
    this.#seq++;
    assert(Number.isSafeInteger(this.#seq), 'write numbers stay safe integers');
    if (this.#seq > this.#reserved) {
      this.#reserved = this.#seq + SEQ_RESERVE_BLOCK - 1;
      this.storage.saveSeqHighWater(this.#reserved);
    }
    return this.#seq;
  }
}
