import { BucketDigest, digestLanesOf } from '../digest/bucket-digest.js';
import type { KeyRecord } from './key-record.js';
import type { KvStorage } from './kv-storage.js';

/**
 * Records in memory. Volatile (the default) keeps nothing: the replica's working set is all
 * there is, and a crash loses it. `durable: true` keeps every record, the seq high-water
 * mark and the epoch across a crash, as an ideal synchronous durable medium would, which lets
 * tests exercise restart paths before the real media exist (its `notValid` and `loadDigest`
 * scan its map: it is not measured).
 */
export class MemoryStorage implements KvStorage {
  readonly medium: string;
  readonly #records = new Map<string, KeyRecord>();
  #seqHighWater = 0;
  #epoch = 0;
  #versionVector: Uint8Array | undefined;

  constructor(readonly durable = false) {
    this.medium = durable ? 'memory-durable' : 'volatile';
  }

  get size(): number {
    return this.#records.size;
  }

  get(key: string): KeyRecord | undefined {
    const record = this.#records.get(key);
    return record === undefined ? undefined : { ...record };
  }

  *records(): IterableIterator<KeyRecord> {
    for (const record of this.#records.values()) yield { ...record };
  }

  *recordsInBuckets(buckets: ReadonlySet<number>): IterableIterator<KeyRecord> {
    const digest = new BucketDigest();
    for (const record of this.#records.values())
      if (buckets.has(digest.bucketOf(record.key))) yield { ...record };
  }

  notValid(): KeyRecord[] {
    return [...this.#records.values()].filter((r) => r.state !== 'valid').map((r) => ({ ...r }));
  }

  loadDigest(): Uint32Array | undefined {
    return this.durable ? digestLanesOf(this.#records.values()) : undefined;
  }

  openReport(): Readonly<Record<string, number>> {
    return {};
  }

  write(record: KeyRecord): void {
    if (this.durable) this.#records.set(record.key, { ...record });
  }

  loadSeqHighWater(): number {
    return this.#seqHighWater;
  }

  saveSeqHighWater(seq: number): void {
    if (this.durable) this.#seqHighWater = seq;
  }

  loadEpoch(): number {
    return this.#epoch;
  }

  saveEpoch(epoch: number): void {
    if (this.durable) this.#epoch = epoch;
  }

  /** Every write is already as durable as this medium gets. */
  sync(versionVector?: Uint8Array): void {
    if (this.durable && versionVector) this.#versionVector = versionVector.slice();
  }

  loadVersionVector(): Uint8Array | undefined {
    return this.#versionVector?.slice();
  }

  close(): void {}
}
