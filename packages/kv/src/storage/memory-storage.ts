import type { KeyRecord } from './key-record.js';
import type { KvStorage } from './kv-storage.js';

/**
 * Records in memory. Volatile (the default) keeps nothing: the replica's working set is all
 * there is, and a crash loses it. `durable: true` keeps every record, the seq high-water
 * mark and the epoch across a crash, as an ideal synchronous durable medium would, which lets
 * tests exercise restart paths before the real media exist.
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

  load(): Iterable<KeyRecord> {
    return [...this.#records.values()].map((r) => ({ ...r }));
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
