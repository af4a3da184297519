/**
 * The `pmem` medium (ARCHITECTURE.md §5, media): one `PTable` in one `PmemRegion` file;
 * the seq high-water mark and the version vector live in the table's metadata area. The table
 * is the store: `get`, `records`, `size` and `notValid` read it in place, and opening the file
 * costs O(metadata) (PTable keeps its index, count and not-Valid bitmap in the region), so a
 * replica restarting from it loads nothing per record.
 *
 * - `write` records the change: no persist. A new write (not only a new state of the write the
 *   key holds) is also appended to the write order. `sync` puts every write of that order in
 *   turn through PTable's commit protocol (body persisted, then the valid word; durable before
 *   the next one starts), then brings each dirty key to its latest state (`setState`: one
 *   atomic word, one persist).
 * - So a crash during `sync` leaves each key at a record it was written with, never torn (the
 *   PTable protocol), and the writes that survive are a prefix of the writes since the previous
 *   sync, in write order (Strict's promise: a key rewritten before the sync is put twice).
 * - The digest of the table (ARCHITECTURE.md §6, HEAL step 4): every put carries its (key, ts)'s
 *   BucketDigest element as the record's fingerprint, and PTable keeps per bucket the sums of
 *   its records' fingerprints, each put's sums made durable by the same fences that finish the
 *   put and redone with it after a crash. So the sums are exactly the digest's bucket lanes of
 *   what the table holds, after any crash, and `loadDigest` reads them without a scan (they
 *   never lag the records: no checkpoint, no journal of puts to replay).
 * - `saveSeqHighWater` is durable when it returns (one metadata update); the version vector is
 *   persisted by `sync` after the records it covers (the payload: pmem-meta.ts).
 * - The file is created atomically (formatted under a temporary name, then renamed), so a crash
 *   while creating it never leaves a half-formatted table behind (pmem-format.ts).
 * - `writeDataset` on a new table copies an image of the dataset (a table of the same layout
 *   that holds it, built once in the same directory and kept there for the next replica or run)
 *   over the file, by a temporary name and a rename: a file copy instead of a put per record.
 *
 * Fault model of `crash(seed)` (the simulator's power failure): `region.crash({mode, seed})`
 * with the configured mode (`adversarial` by default: unfenced and dirty lines may survive,
 * revert or tear by 8-byte words), then the file is reopened and recovered. Every key synced
 * before comes back intact; the dirty set is lost. If an armed crash (`region.armCrash`) already
 * struck inside `sync`, `crash` only reopens.
 *
 * Owned by one thread (the replica's), like its region.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CrashableStorage } from '@heal/actors/core';
import {
  LATENCY_OFF,
  PmemRegion,
  PTable,
  type CrashMode,
  type CrashReport,
  type OpenOptions,
  type PTableLayout,
  type PTableRecord,
  type PTableRecovery,
  type RegionOptions,
} from '@heal/pmem';
import { BucketDigest, DIGEST_BUCKETS_DEFAULT } from '../digest/bucket-digest.js';
import type { KeyRecord } from './key-record.js';
import type { KvStorage } from './kv-storage.js';
import { EpochFile } from './epoch-file.js';
import { copiesEmptyImage, createPmemFile, pmemEmptyImage } from './pmem-format.js';
import { decodePmemMeta, encodePmemMeta } from './pmem-meta.js';
import {
  keyRecordOf,
  persistedWriteOf,
  sameWrite,
  stateCode,
  writeOf,
  type PersistedWrite,
} from './pmem-records.js';
import { checkRecord } from './record-check.js';
import { writeDatasetRecords, type DatasetSpec } from './dataset.js';
import { PMEM_IMAGE_KEYS_MIN, pmemDatasetImage, type ImageLayout } from './pmem-dataset-image.js';
import { storageErrors } from './storage-error.js';

export {
  PMEM_CAPACITY_DEFAULT,
  PMEM_KEY_BYTES_MAX_DEFAULT,
  PMEM_VALUE_BYTES_MAX_DEFAULT,
} from './pmem-format.js';
export { PMEM_META_BYTES } from './pmem-meta.js';

/** Unsynced writes kept in write order; one more makes `write` sync first. */
export const PMEM_ORDER_MAX = 1 << 16;
/** Writes the table holds, cached by key to tell a new write from a state change; past it, cleared. */
export const PMEM_HEADS_CACHED_MAX = 1 << 16;
/**
 * Where tables of metadata versions 1 and 2 kept the replica's epoch (see epoch-file.ts); read
 * only when the metadata has none. The epoch is in the metadata now: a flush and a fence
 * instead of a file write, an fsync, a rename and a directory fsync at every view change.
 */
export const PMEM_EPOCH_SUFFIX = '.epoch';
/** Epochs travel as u32 in every message header. */
const EPOCH_MAX = 2 ** 32 - 1;
export interface PmemStorageOptions {
  /** Used only when the file is created. */
  readonly layout?: Partial<PTableLayout>;
  /** Durability and latency model of the region (pmem package defaults otherwise). */
  readonly region?: RegionOptions;
  /** How `crash` fails the power; default `adversarial`. */
  readonly crashMode?: CrashMode;
  /**
   * Keep a new large table (PMEM_COPY_CAPACITY_MIN records or more) in this process's memory,
   * copy-on-write over the images it starts from (the empty table, the dataset's), not in a
   * file at `path`: replicas started from one image share its pages until they write them. For
   * the simulator, whose media live as long as the process: a restart goes through `crash` on
   * this object, and `close` discards the table. An existing file at `path` is opened as usual.
   */
  readonly inMemory?: boolean;
}

/** What opening the file found; `crash` is the report of the simulated crash before it. */
export interface PmemRecovery extends PTableRecovery {
  created: boolean;
  crash: CrashReport | undefined;
}

export interface PmemStats {
  syncs: number;
  puts: number;
  stateUpdates: number;
}

export class PmemStorage implements KvStorage, CrashableStorage {
  readonly medium = 'pmem';
  readonly stats: PmemStats = { syncs: 0, puts: 0, stateUpdates: 0 };
  readonly #options: PmemStorageOptions;
  #region!: PmemRegion;
  #table!: PTable;
  #open = false;
  /** The table lives in memory, not at `path` (options.inMemory). */
  readonly #inMemory: boolean;
  /**
   * Writes the table holds, by key, for keys written since it was opened (a cache: the table
   * is read on a miss; at most PMEM_HEADS_CACHED_MAX, then cleared).
   */
  #persisted = new Map<string, PersistedWrite>();
  /** Latest unsynced record per key; bounded by the table's capacity (checked in `write`). */
  #dirty = new Map<string, KeyRecord>();
  /** Unsynced new writes in write order (PMEM_ORDER_MAX: past it, `write` syncs first). */
  #order: KeyRecord[] = [];
  /** Dirty keys the table does not hold yet. */
  #newKeys = new Set<string>();
  /** Computes each put's fingerprint: its (key, ts)'s digest element (holds no pairs). */
  readonly #elements = new BucketDigest();
  #seqHighWater = 0;
  /** The version vector the last sync that carried one persisted. */
  #versionVector: Uint8Array | undefined;
  #recovery!: PmemRecovery;
  /** The epoch the metadata holds (or the legacy file held). */
  #epoch = 0;

  /** Opens the region file at `path`, creating and formatting it if it does not exist. */
  constructor(
    readonly path: string,
    options: PmemStorageOptions = {},
  ) {
    const mode = options.crashMode ?? 'adversarial';
    if (mode !== 'strict' && mode !== 'adversarial') {
      throw storageErrors.argument(path, 'options.crashMode', "'strict' or 'adversarial'", mode);
    }
    this.#options = options;
    this.#inMemory =
      options.inMemory === true && !existsSync(path) && copiesEmptyImage(options.layout);
    if (this.#inMemory) {
      const empty = pmemEmptyImage(dirname(path), options.layout, options.region);
      this.#openTable(PmemRegion.openCopyOnWrite(empty, options.region), true, undefined);
    } else {
      this.#openFile(undefined);
    }
  }

  get recovery(): PmemRecovery {
    return this.#recovery;
  }

  /** The region (for tests: `armCrash`; for benchmarks: `stats`). Replaced by every reopen. */
  get region(): PmemRegion {
    return this.#region;
  }

  get table(): PTable {
    return this.#table;
  }

  get dirtyKeys(): number {
    return this.#dirty.size;
  }

  get size(): number {
    this.#assertOpen();
    return this.#table.size + this.#newKeys.size;
  }

  get(key: string): KeyRecord | undefined {
    this.#assertOpen();
    const dirty = this.#dirty.get(key);
    if (dirty !== undefined) return { ...dirty };
    const r = this.#table.get(key);
    if (r === undefined) return undefined;
    // A key read is usually written next (a recovered record over the old one): spare the
    // write and the sync a second index probe and checksum.
    this.#remember(key, persistedWriteOf(r));
    return this.#fromTable(r);
  }

  *records(): IterableIterator<KeyRecord> {
    this.#assertOpen();
    for (const r of this.#table.entries()) {
      const dirty = this.#dirty.get(r.key);
      yield dirty !== undefined ? { ...dirty } : this.#fromTable(r);
    }
    for (const key of [...this.#newKeys]) {
      const dirty = this.#dirty.get(key);
      if (dirty !== undefined) yield { ...dirty };
    }
  }

  /** The table finds them by the fingerprint bucket each slot stores (the key's digest bucket). */
  *recordsInBuckets(buckets: ReadonlySet<number>): IterableIterator<KeyRecord> {
    this.#assertOpen();
    for (const r of this.#table.entriesInBuckets(buckets)) {
      const dirty = this.#dirty.get(r.key);
      yield dirty !== undefined ? { ...dirty } : this.#fromTable(r);
    }
    for (const key of [...this.#newKeys]) {
      const dirty = this.#dirty.get(key);
      if (dirty !== undefined && buckets.has(this.#elements.bucketOf(key))) yield { ...dirty };
    }
  }

  notValid(): KeyRecord[] {
    this.#assertOpen();
    const out = this.#table
      .notValid()
      .filter((r) => !this.#dirty.has(r.key))
      .map((r) => this.#fromTable(r));
    for (const r of this.#dirty.values()) if (r.state !== 'valid') out.push({ ...r });
    return out;
  }

  /** The table's fingerprint sums: the digest's bucket lanes of the synced records. */
  loadDigest(): Uint32Array {
    this.#assertOpen();
    assert.equal(this.#dirty.size, 0, 'loadDigest describes synced records: sync first');
    return this.#table.fingerprintSums();
  }

  openReport(): Readonly<Record<string, number>> {
    const r = this.#recovery;
    return {
      records: r.records,
      notValid: r.notValid,
      staleBits: r.staleBits,
      corrupt: r.corrupt.length,
    };
  }

  write(record: KeyRecord): void {
    this.#assertOpen();
    const { keyMaxBytes, valueMaxBytes, capacity } = this.#table.layout;
    checkRecord(this.path, record, keyMaxBytes, valueMaxBytes);
    const dirty = this.#dirty.get(record.key);
    const latest = dirty !== undefined ? writeOf(dirty) : this.#persistedWrite(record.key);
    if (latest === undefined && !this.#newKeys.has(record.key)) {
      if (this.#table.size + this.#newKeys.size >= capacity) {
        throw storageErrors.full(
          this.path,
          `pmem table full: ${capacity} keys (record.key ${JSON.stringify(record.key)} is new)`,
        );
      }
      this.#newKeys.add(record.key);
    }
    const copy = { ...record };
    if (!latest || !sameWrite(latest, record)) {
      if (this.#order.length >= PMEM_ORDER_MAX) this.sync();
      this.#order.push(copy);
    }
    this.#dirty.set(record.key, copy);
  }

  /**
   * Takes every dirty key through the PTable commit protocol, then persists the version vector
   * (if given) in the metadata: after the records, each commit fenced first. Durable when it
   * returns.
   */
  sync(versionVector?: Uint8Array): void {
    this.#assertOpen();
    for (const r of this.#order) this.#persist(r);
    this.#order = [];
    for (const r of this.#dirty.values()) this.#persist(r);
    this.#dirty.clear();
    this.#newKeys.clear();
    this.stats.syncs++;
    if (versionVector) this.#writeMeta(this.#seqHighWater, versionVector.slice());
  }

  loadVersionVector(): Uint8Array | undefined {
    return this.#versionVector?.slice();
  }

  #writeMeta(seqHighWater: number, versionVector: Uint8Array | undefined): void {
    this.#table.writeMeta(encodePmemMeta({ seqHighWater, epoch: this.#epoch, versionVector }));
    this.#seqHighWater = seqHighWater;
    this.#versionVector = versionVector;
  }

  /** Takes `r` to the table: a put for a new write, a state update for a new state, or nothing. */
  #persist(r: KeyRecord): void {
    const state = stateCode(r.state);
    const old = this.#persistedWrite(r.key);
    if (old !== undefined && sameWrite(old, r)) {
      if (old.state === state) return;
      assert(this.#table.setState(r.key, state), `key ${r.key} is in the table`);
      this.stats.stateUpdates++;
    } else {
      const ts = { version: r.ts.version, cid: r.ts.cid };
      this.#table.put({
        key: r.key,
        ts,
        value: r.value,
        state,
        origin: r.origin,
        seq: r.seq,
        fingerprint: this.#elements.element(r.key, ts),
      });
      this.stats.puts++;
    }
    this.#remember(r.key, writeOf(r));
  }

  #remember(key: string, w: PersistedWrite): void {
    if (this.#persisted.size >= PMEM_HEADS_CACHED_MAX) this.#persisted.clear();
    this.#persisted.set(key, w);
  }

  /** The write the table holds for `key` (cached), or undefined. */
  #persistedWrite(key: string): PersistedWrite | undefined {
    let w = this.#persisted.get(key);
    if (w === undefined) {
      const head = this.#table.head(key);
      if (head === undefined) return undefined;
      w = persistedWriteOf(head);
      this.#remember(key, w);
    }
    return w;
  }

  loadSeqHighWater(): number {
    return this.#seqHighWater;
  }

  /** Durable when it returns. */
  saveSeqHighWater(seq: number): void {
    this.#assertOpen();
    if (!Number.isSafeInteger(seq) || seq < 0)
      throw storageErrors.argument(this.path, 'seq', 'a safe integer >= 0', seq);
    assert(
      seq >= this.#seqHighWater,
      `seq high-water mark goes back from ${this.#seqHighWater} to ${seq}`,
    );
    this.#writeMeta(seq, this.#versionVector);
  }

  loadEpoch(): number {
    this.#assertOpen();
    return this.#epoch;
  }

  /** Durable when it returns (in the metadata, with the seq high-water mark and version vector). */
  saveEpoch(epoch: number): void {
    this.#assertOpen();
    if (!Number.isSafeInteger(epoch) || epoch < 1 || epoch > EPOCH_MAX)
      throw storageErrors.argument(this.path, 'epoch', `an integer in [1, ${EPOCH_MAX}]`, epoch);
    this.#epoch = epoch;
    this.#writeMeta(this.#seqHighWater, this.#versionVector);
  }

  /** Simulated power failure (see the file comment), then reopen. */
  crash(seed: number): void {
    if (!this.#open) throw storageErrors.closed(this.path, 'closed');
    const report = this.#region.isOpen
      ? this.#region.crash({ mode: this.#options.crashMode ?? 'adversarial', seed })
      : undefined;
    this.#open = false;
    if (this.#inMemory) {
      assert(report, `${this.path}: a table in memory is open until it crashes`);
      this.#openTable(this.#region.reopen(this.#options.region), false, report);
    } else {
      this.#openFile(report, report ? { durable: this.#region.crashedImage() } : {});
    }
  }

  writeDataset(dataset: DatasetSpec): void {
    this.#assertOpen();
    assert(
      this.size === 0 && this.#order.length === 0 && this.#seqHighWater === 0 && this.#epoch === 0,
      `writeDataset: ${this.path} is not a new table`,
    );
    if (dataset.keys < PMEM_IMAGE_KEYS_MIN) {
      writeDatasetRecords(this, dataset);
      return;
    }
    const image = pmemDatasetImageIn(dirname(this.path), dataset, this.#table.layout);
    this.#region.close();
    this.#open = false;
    if (this.#inMemory) {
      this.#openTable(PmemRegion.openCopyOnWrite(image, this.#options.region), false, undefined);
    } else {
      const temp = `${this.path}.dataset.tmp`;
      copyFileSync(image, temp);
      renameSync(temp, this.path);
      // The durable image reads the (immutable) dataset image: one copy for every replica.
      this.#openFile(undefined, { durableBase: image });
    }
    assert(
      this.size === dataset.keys,
      `dataset image ${image} holds ${this.size} keys, not ${dataset.keys}`,
    );
  }

  /** Syncs and closes; idempotent. */
  close(): void {
    if (!this.#open) return;
    this.sync();
    this.#region.close();
    this.#open = false;
  }

  #assertOpen(): void {
    if (!this.#open) throw storageErrors.closed(this.path, 'closed');
  }

  #fromTable(r: PTableRecord): KeyRecord {
    return keyRecordOf(this.path, this.#table.layout.slotsOffset, r);
  }

  /** `durable`: where the durable image already is (see PmemRegion.open), if not the file. */
  #openFile(
    crash: CrashReport | undefined,
    durable: Pick<OpenOptions, 'durable' | 'durableBase'> = {},
  ): void {
    const created = !existsSync(this.path);
    const empty = created
      ? createPmemFile(this.path, this.#options.layout, this.#options.region)
      : undefined;
    const region = PmemRegion.open(this.path, {
      ...this.#options.region,
      ...(empty !== undefined ? { durableBase: empty } : durable),
    });
    this.#openTable(region, created, crash);
  }

  /** Opens the table on `region`: what the medium holds, read from its metadata. */
  #openTable(region: PmemRegion, created: boolean, crash: CrashReport | undefined): void {
    this.#region = region;
    this.#table = PTable.open(this.#region);
    const buckets = this.#table.layout.fingerprintBuckets;
    if (buckets !== DIGEST_BUCKETS_DEFAULT) {
      throw storageErrors.corrupt(
        this.path,
        0,
        `pmem table keeps fingerprint sums in ${buckets} buckets, not the digest's ${DIGEST_BUCKETS_DEFAULT}: not a kv table`,
      );
    }
    this.#persisted = new Map();
    this.#dirty = new Map();
    this.#order = [];
    this.#newKeys = new Set();
    this.#readMeta();
    this.#recovery = { ...this.#table.recovery, created, crash };
    this.#open = true;
  }

  /** The seq high-water mark, epoch and version vector (older payloads lack the last two). */
  #readMeta(): void {
    this.#seqHighWater = 0;
    this.#versionVector = undefined;
    const meta = this.#table.readMeta();
    const decoded = meta && decodePmemMeta(this.path, this.#table.layout.metaOffset, meta.bytes);
    this.#seqHighWater = decoded?.seqHighWater ?? 0;
    this.#versionVector = decoded?.versionVector;
    this.#epoch = decoded?.epoch ?? new EpochFile(`${this.path}${PMEM_EPOCH_SUFFIX}`).load();
  }
}

/**
 * The image of `dataset` in a new table of `layout` in `dir` (pmem-dataset-image.ts), built by
 * a PmemStorage without latency model or crash simulation if it is not there yet.
 */
export function pmemDatasetImageIn(
  dir: string,
  dataset: DatasetSpec,
  layout: ImageLayout & { fingerprintBuckets: number },
): string {
  return pmemDatasetImage(
    dir,
    dataset,
    layout,
    (path, of) =>
      new PmemStorage(path, { layout: of, region: { latency: LATENCY_OFF, crashable: false } }),
  );
}
