import type { KeyRecord } from './key-record.js';

/**
 * The storage medium behind a replica (DESIGN section 4, "Storage media"). The replica keeps
 * its working set in memory and tells the medium every change; what the medium keeps across a
 * crash is the medium's business, within this contract:
 * - `write` is cheap and synchronous; it need not be durable until the next `sync`.
 * - `sync` makes every write so far durable (the persistency models decide when to call it).
 * - `saveSeqHighWater` is durable when it returns, so a restart never reuses a write number;
 *   `saveEpoch` likewise, so a cold start of the whole cluster never reuses an epoch.
 * - After a crash, a durable medium's `load` returns, per key, the latest record written
 *   before the last completed `sync` or a later one, never a torn or mixed record (`volatile`
 *   keeps nothing).
 * Implementations: MemoryStorage (volatile, memory-durable), WalStorage (wal), PmemStorage
 * (pmem). The durable ones also implement CrashableStorage (@heal/actors) for the simulator.
 * Owned by the replica's thread; one handler at a time.
 */
export interface KvStorage {
  readonly medium: string;
  /** Records the medium kept, read once when a replica (re)starts; fresh objects. */
  load(): Iterable<KeyRecord>;
  /** The record changed (value, ts or state). The medium copies what it keeps. */
  write(record: KeyRecord): void;
  /**
   * Makes every write so far durable, then `versionVector` (an encoded VersionVector) after
   * them: a crash may keep the writes without it, never it without them.
   */
  sync(versionVector?: Uint8Array): void;
  /** The version vector the last sync that carried one persisted (undefined: none yet). */
  loadVersionVector(): Uint8Array | undefined;
  /** Persisted high-water mark of this replica's write numbers (0 when none). */
  loadSeqHighWater(): number;
  /** Durable when it returns. */
  saveSeqHighWater(seq: number): void;
  /**
   * Epoch of the last view this replica installed (0 when none was saved); a corrupt record of
   * it is a StorageError naming its file and what is wrong.
   */
  loadEpoch(): number;
  /** Durable when it returns; called before the replica acts in the view. */
  saveEpoch(epoch: number): void;
  /** Syncs and releases the medium (files, mappings); idempotent. Unusable afterwards. */
  close(): void;
}
