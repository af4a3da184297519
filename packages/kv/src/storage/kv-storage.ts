import type { KeyRecord } from './key-record.js';

/**
 * The storage medium behind a replica (DESIGN section 4, "Storage media"). The replica keeps
 * its working set in memory and tells the medium every change; what the medium keeps across a
 * crash is the medium's business. Implementations: MemoryStorage here; wal and pmem next.
 */
export interface KvStorage {
  readonly medium: string;
  /** Records the medium kept, read once when a replica (re)starts. */
  load(): Iterable<KeyRecord>;
  /** The record changed (value, ts or state). */
  write(record: KeyRecord): void;
  /** Persisted high-water mark of this replica's write numbers (0 when none). */
  loadSeqHighWater(): number;
  saveSeqHighWater(seq: number): void;
}
