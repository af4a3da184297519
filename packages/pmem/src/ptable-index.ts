/**
 * A PTable's key index (layout in ptable-layout.ts): open addressing with linear probing over
 * `indexEntries` 8-byte entries (slot + 1, key hash), each written with one atomic store.
 * Bound: a probe visits at most `indexEntries` entries.
 */
import assert from 'node:assert/strict';
import { fmix32, fnv1a32 } from '@heal/base';
import { INDEX_ENTRY_BYTES, TOMBSTONE, type ResolvedLayout } from './ptable-layout.js';
import type { Slots } from './ptable-slots.js';
import type { PmemRegion } from './region.js';

/** The entry value of a never used entry: a probe stops there. */
export const EMPTY = 0;

/** The index's hash of a key: FNV-1a over its UTF-16 units, mixed; a u32. */
export function keyHashOf(key: string): number {
  return fmix32(fnv1a32(key)) >>> 0;
}

export class KeyIndex {
  /** The last probe's first free entry (empty or tombstone) on the key's chain, or -1. */
  probeFree = -1;
  private readonly dv: DataView;
  private readonly mask: number;

  constructor(
    private readonly region: PmemRegion,
    private readonly layout: ResolvedLayout,
    private readonly slots: Slots,
  ) {
    this.dv = new DataView(region.view.buffer, region.view.byteOffset, region.sizeBytes);
    this.mask = layout.indexEntries - 1;
  }

  private entryOffset(entry: number): number {
    return this.layout.indexOffset + entry * INDEX_ENTRY_BYTES;
  }

  /** The entry's raw value: EMPTY, TOMBSTONE or slot + 1. */
  raw(entry: number): number {
    return this.dv.getUint32(this.entryOffset(entry), true);
  }

  hash(entry: number): number {
    return this.dv.getUint32(this.entryOffset(entry) + 4, true);
  }

  /** The slot a live entry names. */
  slot(entry: number): number {
    return this.raw(entry) - 1;
  }

  /** Stores an index entry (both halves before the next fence: it lands whole) and flushes it. */
  write(entry: number, slotPlus1: number, keyHash: number): void {
    const at = this.entryOffset(entry);
    this.dv.setUint32(at + 4, keyHash, true);
    this.dv.setUint32(at, slotPlus1, true);
    this.region.flush(at, INDEX_ENTRY_BYTES);
  }

  /**
   * The entry of `key` on the chain of `keyHash`, or -1; sets `probeFree` to the first empty or
   * tombstone entry on the chain (where an insert of the key goes).
   */
  probe(key: string, keyHash: number): number {
    const { indexEntries } = this.layout;
    this.probeFree = -1;
    let entry = keyHash & this.mask;
    for (let n = 0; n < indexEntries; n++, entry = (entry + 1) & this.mask) {
      const at = this.entryOffset(entry);
      const raw = this.dv.getUint32(at, true);
      if (raw === EMPTY) {
        if (this.probeFree < 0) this.probeFree = entry;
        return -1;
      }
      if (raw === TOMBSTONE) {
        if (this.probeFree < 0) this.probeFree = entry;
      } else if (
        this.dv.getUint32(at + 4, true) === keyHash &&
        this.slots.keyEquals(this.slots.base(raw - 1), key)
      ) {
        return entry;
      }
    }
    return -1;
  }

  /** The entry on `keyHash`'s chain that names one of `slots`, or -1; `probeFree` as in `probe`. */
  findSlotEntry(keyHash: number, slotA: number, slotB: number): number {
    const { indexEntries } = this.layout;
    this.probeFree = -1;
    let entry = keyHash & this.mask;
    for (let n = 0; n < indexEntries; n++, entry = (entry + 1) & this.mask) {
      const at = this.entryOffset(entry);
      const raw = this.dv.getUint32(at, true);
      if (raw === EMPTY || raw === TOMBSTONE) {
        if (this.probeFree < 0) this.probeFree = entry;
        if (raw === EMPTY) return -1;
      } else if (
        this.dv.getUint32(at + 4, true) === keyHash &&
        (raw - 1 === slotA || raw - 1 === slotB)
      ) {
        return entry;
      }
    }
    return -1;
  }

  /** For verify: entry `e` is found from its hash's home without crossing an empty entry. */
  assertReachable(e: number, keyHash: number): void {
    for (let entry = keyHash & this.mask; entry !== e; entry = (entry + 1) & this.mask) {
      assert.notEqual(
        this.raw(entry),
        EMPTY,
        `index entry ${e} is cut off from its home by an empty entry`,
      );
    }
  }
}
