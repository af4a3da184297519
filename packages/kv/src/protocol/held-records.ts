import assert from 'node:assert/strict';
import type { KeyRecord } from '../storage/key-record.js';
import type { KvStorage } from '../storage/kv-storage.js';
import { BucketDigest } from '../digest/bucket-digest.js';
import type { HeldRecord } from './durability.js';
import { RecordIndex } from './record-index.js';

/**
 * A replica's records: those it holds in memory (`HeldRecord`s, in a RecordIndex) and, after a
 * (re)start from a medium that keeps them, those still only on the medium ("cold"). Nothing is
 * read per record at start: a lookup that misses in memory consults the medium and holds what
 * it finds from then on (`materialize`), so a cold key is read once; iteration covers every key.
 *
 * Every key is held or cold, never both: keys the replica writes are held before they reach the
 * medium (it looks a key up before it writes it), and a cold key becomes held on its first
 * lookup. So the size is the held count plus the cold count, and the medium is consulted only
 * while some key is cold.
 * Owned by the replica's thread.
 */
export class HeldRecords implements ReadonlyMap<string, KeyRecord> {
  readonly #held = new RecordIndex<HeldRecord>();
  #medium: KvStorage | undefined;
  /** Records on the medium not held yet. */
  #cold = 0;
  #materialize: ((record: KeyRecord) => HeldRecord) | undefined;
  /** Tells a held key's bucket of the default digest (holds no pairs). */
  readonly #buckets = new BucketDigest();

  /**
   * Backs the records with `medium`, of which `cold` records are not held (every one but those
   * `set` already); `materialize` turns a record read from it into the one to hold.
   */
  attach(medium: KvStorage, cold: number, materialize: (record: KeyRecord) => HeldRecord): void {
    assert.equal(this.#medium, undefined, 'records are backed by one medium, once, at start');
    assert.ok(
      Number.isInteger(cold) && cold >= 0 && cold <= medium.size,
      `cold records: ${cold} of ${medium.size}`,
    );
    this.#medium = medium;
    this.#cold = cold;
    this.#materialize = materialize;
  }

  get size(): number {
    return this.#held.size + this.#cold;
  }

  /** Records still only on the medium. */
  get coldSize(): number {
    return this.#cold;
  }

  get(key: string): HeldRecord | undefined {
    const held = this.#held.get(key);
    return held !== undefined || this.#cold === 0 ? held : this.#fromMedium(key);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Holds `record`, a key that is new here (the caller looked it up) or held already. */
  set(record: HeldRecord): void {
    this.#held.set(record);
  }

  /** `out[i]` = the record of `items[i].key`, or undefined: `get` for each, misses overlapping. */
  getAll(items: readonly { readonly key: string }[], out: (HeldRecord | undefined)[]): void {
    this.#held.getAll(items, out);
    if (this.#cold === 0) return;
    for (let i = 0; i < items.length; i++) {
      // A key read from the medium for an earlier item is held now: `get` finds it there.
      if (out[i] === undefined) out[i] = this.get((items[i] as { key: string }).key);
    }
  }

  /** The held records, in the order they were first held; live (records held meanwhile are visited). */
  *held(): MapIterator<HeldRecord> {
    for (let i = 0; i < this.#held.size; i++) yield this.#held.at(i);
  }

  /** The cold records, read from the medium (fresh objects, not held: reading them holds nothing). */
  *cold(): MapIterator<KeyRecord> {
    const medium = this.#medium;
    if (medium === undefined || this.#cold === 0) return;
    for (const record of medium.records()) {
      if (this.#held.get(record.key) === undefined) yield record;
    }
  }

  /**
   * The records whose keys fall in `buckets` of the default digest, as `values` visits them
   * (the cold ones found by the medium: pmem reads no other record).
   */
  *inBuckets(buckets: ReadonlySet<number>): MapIterator<KeyRecord> {
    if (buckets.size === 0) return;
    let i = 0;
    for (; i < this.#held.size; i++) {
      const record = this.#held.at(i);
      if (buckets.has(this.#buckets.bucketOf(record.key))) yield record;
    }
    const medium = this.#medium;
    if (medium !== undefined && this.#cold > 0) {
      for (const record of medium.recordsInBuckets(buckets)) {
        if (this.#held.get(record.key) === undefined) yield record;
      }
    }
    for (; i < this.#held.size; i++) {
      const record = this.#held.at(i);
      if (buckets.has(this.#buckets.bucketOf(record.key))) yield record;
    }
  }

  /**
   * Every record: the held ones, the cold ones (fresh objects), then those held since the first
   * pass ended. Every key present when the iteration starts is visited; one held while it runs
   * may be visited twice (cold, then held), as a Map visits a key deleted and set again.
   */
  *values(): MapIterator<KeyRecord> {
    let i = 0;
    for (; i < this.#held.size; i++) yield this.#held.at(i);
    yield* this.cold();
    for (; i < this.#held.size; i++) yield this.#held.at(i);
  }

  *keys(): MapIterator<string> {
    for (const record of this.values()) yield record.key;
  }

  *entries(): MapIterator<[string, KeyRecord]> {
    for (const record of this.values()) yield [record.key, record];
  }

  [Symbol.iterator](): MapIterator<[string, KeyRecord]> {
    return this.entries();
  }

  forEach(
    callback: (value: KeyRecord, key: string, map: ReadonlyMap<string, KeyRecord>) => void,
    thisArg?: unknown,
  ): void {
    for (const record of this.values()) callback.call(thisArg, record, record.key, this);
  }

  /** A lookup missed in memory while some key is cold: the medium's record, held from now on. */
  #fromMedium(key: string): HeldRecord | undefined {
    const record = (this.#medium as KvStorage).get(key);
    if (record === undefined) return undefined;
    this.#cold--;
    assert.ok(this.#cold >= 0, `key ${key} was cold: the cold count stays >= 0`);
    const held = (this.#materialize as (record: KeyRecord) => HeldRecord)(record);
    this.#held.set(held);
    return held;
  }
}
