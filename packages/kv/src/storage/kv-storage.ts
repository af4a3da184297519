import type { KeyRecord } from './key-record.js';
import type { DatasetSpec } from './dataset.js';

/**
 * The storage medium behind a replica (ARCHITECTURE.md §5, media). The replica tells
 * the medium every change; what the medium keeps across a crash is the medium's business,
 * within this contract:
 * - `write` is cheap and synchronous; it need not be durable until the next `sync`.
 * - `sync` makes every write so far durable (the persistency models decide when to call it).
 * - `saveSeqHighWater` is durable when it returns, so a restart never reuses a write number;
 *   `saveEpoch` likewise, so a cold start of the whole cluster never reuses an epoch.
 * - After a crash, a durable medium holds, per key, the latest record written before the last
 *   completed `sync` or a later one, never a torn or mixed record (`volatile` keeps nothing).
 * What it holds is read in place (`size`, `get`, `records`): a replica restarting from it holds
 * in memory only the records it touches (pmem reads them from its region; wal from what its
 * replay built; memory-durable from its map), and finds in bounded work (pmem) the records
 * that were not Valid (`notValid`) and the digest of them all (`loadDigest`).
 * Implementations: MemoryStorage (volatile, memory-durable), WalStorage (wal), PmemStorage
 * (pmem). The durable ones also implement CrashableStorage (@heal/actors) for the simulator.
 * Owned by the replica's thread; one handler at a time.
 */
export interface KvStorage {
  readonly medium: string;
  /** Keys the medium holds a record of (written, synced or not; volatile: none). */
  readonly size: number;
  /** The latest record of `key` the medium holds, as a fresh object, or undefined. */
  get(key: string): KeyRecord | undefined;
  /**
   * Every record the medium holds, fresh objects. Lazy: a record written while the iteration
   * runs may be visited or not, and a key written again may be visited twice.
   */
  records(): IterableIterator<KeyRecord>;
  /**
   * The records whose keys fall in `buckets` of a default-shaped BucketDigest (the differing
   * buckets of a Merkle descent), fresh objects, lazy as `records`: pmem reads one word of every
   * other record, the others filter their records.
   */
  recordsInBuckets(buckets: ReadonlySet<number>): IterableIterator<KeyRecord>;
  /** The records whose state is not Valid, fresh objects (pmem: from its bitmap, not a scan). */
  notValid(): KeyRecord[];
  /**
   * The digest of the records the medium holds, as the bucket lanes of a `BucketDigest` of
   * DIGEST_BUCKETS_DEFAULT buckets (`assignBucketLanes`), or undefined when it keeps none
   * (volatile). Called at a (re)start, after the last write was synced (pmem keeps it with
   * every put; wal built it in its replay; memory-durable computes it).
   */
  loadDigest(): Uint32Array | undefined;
  /** What opening the medium found and cost (counts, and `...Ms` durations), for reports. */
  openReport(): Readonly<Record<string, number>>;
  /** The record changed (value, ts or state). The medium copies what it keeps. */
  write(record: KeyRecord): void;
  /**
   * On a medium nothing was written to: writes every record of `dataset` and syncs, as `write`
   * of each and `sync` would, faster (pmem copies an image of it). Optional.
   */
  writeDataset?(dataset: DatasetSpec): void;
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
