import assert from 'node:assert/strict';
import { fmix32, fnv1a32 } from '@heal/base';

/** A hash of a key's UTF-16 units: an int32, never 0 (0 marks an empty slot). */
export type KeyHash = (key: string) => number;

/** FNV-1a over the UTF-16 units, then murmur3's finalizer so that the low bits (the slot) mix well. */
export const fnvKeyHash: KeyHash = (key) => {
  const h = fmix32(fnv1a32(key));
  return h === 0 ? 1 : h;
};

/** Slots per entry at most: the table doubles before it is more than half full. */
const MIN_SLOTS_PER_ENTRY = 2;
const INITIAL_SLOTS = 16;

/**
 * A replica's records by key, never removed: an insertion-ordered list of records and an
 * open-addressing table (linear probing) of (hash, list index) pairs into it. Iteration is
 * live, as a Map's: records added meanwhile are visited.
 *
 * Why not a Map: at 100k keys a lookup is a chain of dependent cache misses (bucket, entry,
 * stored key, record, value), and in bench kv the reads' lookups took 10% of all CPU time.
 * `getAll` looks a batch of keys up in stages (every key's slot, then every record and its
 * stored key), so the misses of independent keys overlap instead of following one another.
 */
export class RecordIndex<R extends { readonly key: string }> implements ReadonlyMap<string, R> {
  readonly #hash: KeyHash;
  readonly #entries: R[] = [];
  /** Per slot: [hash, index in #entries]; hash 0 is an empty slot. */
  #table = new Int32Array(2 * INITIAL_SLOTS);
  #mask = INITIAL_SLOTS - 1;
  /** getAll's per-key scratch: hash, then the list index found (-1: none with that hash). */
  #hashes = new Int32Array(64);
  #found = new Int32Array(64);

  /** `hash`: for tests that need colliding keys. */
  constructor(hash: KeyHash = fnvKeyHash) {
    this.#hash = hash;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The record added `index`-th (0 first): records keep their place, so this is a live cursor. */
  at(index: number): R {
    const record = this.#entries[index];
    if (record === undefined)
      assert.fail(`RecordIndex: no record at ${index} of ${this.#entries.length}`);
    return record;
  }

  get(key: string): R | undefined {
    const index = this.#indexOf(key, this.#hash(key));
    return index < 0 ? undefined : this.#entries[index];
  }

  has(key: string): boolean {
    return this.#indexOf(key, this.#hash(key)) >= 0;
  }

  /** Adds `record`, or replaces the one held for its key. */
  set(record: R): void {
    const h = this.#hash(record.key);
    if (h === 0 || h !== (h | 0))
      assert.fail(`RecordIndex: the key hash must be a non-zero int32, got ${h}`);
    const index = this.#indexOf(record.key, h);
    if (index >= 0) {
      this.#entries[index] = record;
      return;
    }
    if ((this.#entries.length + 1) * MIN_SLOTS_PER_ENTRY > this.#mask + 1) this.#grow();
    this.#place(h, this.#entries.length);
    this.#entries.push(record);
  }

  /** `out[i]` = the record of `items[i].key`, or undefined: `get` for each, with overlapping misses. */
  getAll(items: readonly { readonly key: string }[], out: (R | undefined)[]): void {
    const n = items.length;
    if (this.#hashes.length < n) {
      this.#hashes = new Int32Array(2 * n);
      this.#found = new Int32Array(2 * n);
    }
    const hashes = this.#hashes;
    const found = this.#found;
    const table = this.#table;
    const mask = this.#mask;
    const entries = this.#entries;
    for (let j = 0; j < n; j++) hashes[j] = this.#hash((items[j] as { key: string }).key);
    // The first slot with the key's hash: almost always its home slot, one miss per key.
    for (let j = 0; j < n; j++) {
      const h = hashes[j] as number;
      let slot = h & mask;
      for (;;) {
        const seen = table[2 * slot] as number;
        if (seen === h) {
          found[j] = table[2 * slot + 1] as number;
          break;
        }
        if (seen === 0) {
          found[j] = -1;
          break;
        }
        slot = (slot + 1) & mask;
      }
    }
    for (let j = 0; j < n; j++) {
      const index = found[j] as number;
      out[j] = index < 0 ? undefined : entries[index];
    }
    // Loads every record and its stored key. Another key with the same hash (rare) takes the
    // full probe.
    for (let j = 0; j < n; j++) {
      const record = out[j];
      const key = (items[j] as { key: string }).key;
      if (record !== undefined && record.key !== key) out[j] = this.get(key);
    }
  }

  *keys(): MapIterator<string> {
    for (const record of this.values()) yield record.key;
  }

  *values(): MapIterator<R> {
    const entries = this.#entries;
    for (let i = 0; i < entries.length; i++) yield entries[i] as R;
  }

  *entries(): MapIterator<[string, R]> {
    for (const record of this.values()) yield [record.key, record];
  }

  [Symbol.iterator](): MapIterator<[string, R]> {
    return this.entries();
  }

  forEach(
    callback: (value: R, key: string, map: ReadonlyMap<string, R>) => void,
    thisArg?: unknown,
  ): void {
    for (const record of this.values()) callback.call(thisArg, record, record.key, this);
  }

  #indexOf(key: string, h: number): number {
    const table = this.#table;
    const mask = this.#mask;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const seen = table[2 * slot] as number;
      if (seen === 0) return -1;
      if (seen === h) {
        const index = table[2 * slot + 1] as number;
        if ((this.#entries[index] as R).key === key) return index;
      }
    }
  }

  #place(h: number, index: number): void {
    const table = this.#table;
    const mask = this.#mask;
    let slot = h & mask;
    while (table[2 * slot] !== 0) slot = (slot + 1) & mask;
    table[2 * slot] = h;
    table[2 * slot + 1] = index;
  }

  #grow(): void {
    const old = this.#table;
    this.#table = new Int32Array(2 * old.length);
    this.#mask = old.length - 1;
    for (let slot = 0; slot < old.length; slot += 2) {
      if (old[slot] !== 0) this.#place(old[slot] as number, old[slot + 1] as number);
    }
  }
}
