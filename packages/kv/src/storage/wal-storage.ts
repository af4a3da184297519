/**
 * The `wal` medium (ARCHITECTURE.md §5, media): an append-only log of checksummed
 * frames (wal-format.ts) in a directory of its own, with group commit and checkpoints.
 *
 * - `write` encodes the record into the in-memory batch: no I/O. `sync` appends the batch to
 *   the current segment and calls fdatasync once (group commit). A batch that reaches
 *   WAL_BATCH_BYTES_MAX is committed by the write that fills it, so memory stays bounded even
 *   if nobody syncs.
 * - After a sync that takes the segment past `checkpointLogBytes` or `checkpointLogRecords`, a
 *   checkpoint writes the latest record of every key atomically as the snapshot
 *   (checkpoint.ts), starts the next segment and deletes the old one, so replay is bounded.
 * - `saveSeqHighWater` is durable when it returns (it commits the batch with its SEQ frame): a
 *   restart must never hand out a write number that another replica may have seen.
 * - Opening replays snapshot + segments into memory (the checkpoint, then the log tail since
 *   it: `recovery` reports each one's time; wal-directory.ts) and summarizes what they built
 *   (the digest of the records and the keys not Valid: `loadDigest`, `notValid`). A torn tail
 *   of the last segment is reported in `recovery.tornTail` and truncated, never applied;
 *   anything else that fails a check is a StorageError naming the file and offset.
 *
 * Fault model of `crash(seed)` (the simulator's power failure): everything up to the last
 * completed sync survives; the unsynced batch is lost, except that a prefix of its first frame
 * (its length chosen by the seed, possibly zero) reaches the file, as an OS writing back part
 * of an unsynced append would; the next open must detect and drop that torn tail. The storage
 * is then reopened: the next `load()` returns exactly the synced state.
 *
 * Owned by one thread (the replica's); nothing here is safe to share. An I/O error during a
 * commit leaves the storage `failed` (fsync errors are not retried): reopen the directory.
 */
import assert from 'node:assert/strict';
import { closeSync, fdatasyncSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { CrashableStorage } from '@heal/actors/core';
import { BucketDigest } from '../digest/bucket-digest.js';
import type { KeyRecord } from './key-record.js';
import type { KvStorage } from './kv-storage.js';
import { writeFully, writeSnapshot } from './checkpoint.js';
import { EpochFile } from './epoch-file.js';
import { checkRecord } from './record-check.js';
import {
  createSegment,
  replayWal,
  segmentFileName,
  WAL_EPOCH_FILE,
  WAL_SNAPSHOT_FILE,
  WAL_SNAPSHOT_TEMP_FILE,
  type CurrentSegment,
  type WalRecovery,
} from './wal-directory.js';
import {
  encodeRecordInto,
  encodeSeqFrame,
  encodeVvFrame,
  FRAME_HEADER_BYTES,
  recordFrameBytes,
  WAL_KEY_BYTES_MAX,
  WAL_VALUE_BYTES_MAX,
} from './wal-format.js';
import { StorageError, storageErrors } from './storage-error.js';

export {
  segmentFileName,
  WAL_EPOCH_FILE,
  WAL_SNAPSHOT_FILE,
  WAL_SNAPSHOT_TEMP_FILE,
  type WalRecovery,
} from './wal-directory.js';

/** Bound of the in-memory batch: the write that reaches it commits the batch. */
export const WAL_BATCH_BYTES_MAX = 4 << 20;
/** First size of the batch buffer; it doubles as needed (to the bound plus one frame). */
const BATCH_BUFFER_BYTES_INITIAL = 64 << 10;
export const WAL_CHECKPOINT_LOG_BYTES_DEFAULT = 16 << 20;
export const WAL_CHECKPOINT_LOG_RECORDS_DEFAULT = 100_000;

export interface WalOptions {
  /** Checkpoint after a sync that takes the current segment to at least this many bytes. */
  readonly checkpointLogBytes?: number;
  /** Checkpoint after a sync that takes the current segment to at least this many frames. */
  readonly checkpointLogRecords?: number;
}

export interface WalStats {
  /** Commits of a non-empty batch (one write + one fdatasync each). */
  commits: number;
  framesCommitted: number;
  bytesCommitted: number;
  checkpoints: number;
}

function checkOptions(dir: string, options: WalOptions): Required<WalOptions> {
  const resolved = {
    checkpointLogBytes: options.checkpointLogBytes ?? WAL_CHECKPOINT_LOG_BYTES_DEFAULT,
    checkpointLogRecords: options.checkpointLogRecords ?? WAL_CHECKPOINT_LOG_RECORDS_DEFAULT,
  };
  for (const [field, v] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(v) || v < 1)
      throw storageErrors.argument(dir, `options.${field}`, 'a positive integer', v);
  }
  return resolved;
}

export class WalStorage implements KvStorage, CrashableStorage {
  readonly medium = 'wal';
  readonly stats: WalStats = { commits: 0, framesCommitted: 0, bytesCommitted: 0, checkpoints: 0 };
  readonly #options: Required<WalOptions>;
  #state: 'open' | 'failed' | 'closed' = 'closed';
  /** The latest record of every key: the synced state plus the batch. */
  #latest = new Map<string, KeyRecord>();
  #seqHighWater = 0;
  /** The version vector of the last sync that carried one (durable). */
  #versionVector: Uint8Array | undefined;
  /** Frames written since the last commit: `#batchBytes` bytes at the start of `#batchBuf`. */
  #batchBuf = Buffer.allocUnsafe(BATCH_BUFFER_BYTES_INITIAL);
  #batchBytes = 0;
  #batchFrames = 0;
  /** The segment appends go to, with its durable bytes and frames. */
  #current!: CurrentSegment;
  #recovery!: WalRecovery;
  /** The digest's bucket lanes and the keys not Valid of `#latest`, as of open; dropped by a write. */
  #summary: { lanes: Uint32Array; notValid: string[] } | undefined;
  readonly #epoch: EpochFile;

  /** Opens (creating it if needed) the wal in directory `dir` and replays it. */
  constructor(
    readonly dir: string,
    options: WalOptions = {},
  ) {
    this.#options = checkOptions(dir, options);
    this.#open();
    this.#epoch = new EpochFile(join(dir, WAL_EPOCH_FILE));
  }

  get recovery(): WalRecovery {
    return this.#recovery;
  }

  /** The current segment's file. */
  get segmentPath(): string {
    return join(this.dir, segmentFileName(this.#current.number));
  }

  /** Bytes appended but not yet committed. */
  get unsyncedBytes(): number {
    return this.#batchBytes;
  }

  get size(): number {
    return this.#latest.size;
  }

  get(key: string): KeyRecord | undefined {
    this.#assertOpen();
    const r = this.#latest.get(key);
    return r === undefined ? undefined : { ...r, ts: { ...r.ts } };
  }

  *records(): IterableIterator<KeyRecord> {
    this.#assertOpen();
    for (const r of this.#latest.values()) yield { ...r, ts: { ...r.ts } };
  }

  *recordsInBuckets(buckets: ReadonlySet<number>): IterableIterator<KeyRecord> {
    this.#assertOpen();
    const digest = new BucketDigest();
    for (const r of this.#latest.values())
      if (buckets.has(digest.bucketOf(r.key))) yield { ...r, ts: { ...r.ts } };
  }

  notValid(): KeyRecord[] {
    this.#assertOpen();
    return this.#summarized().notValid.map((key) => ({ ...(this.#latest.get(key) as KeyRecord) }));
  }

  /** Built by the replay at open (recomputed if written since: a first start writing its dataset). */
  loadDigest(): Uint32Array {
    this.#assertOpen();
    return this.#summarized().lanes.slice();
  }

  openReport(): Readonly<Record<string, number>> {
    const r = this.#recovery;
    return {
      snapshotRecords: r.snapshotRecords,
      snapshotMs: r.snapshotMs,
      logFrames: r.framesReplayed,
      logMs: r.logMs,
      summaryMs: r.summaryMs,
    };
  }

  #summarized(): { lanes: Uint32Array; notValid: string[] } {
    if (this.#summary === undefined) {
      const digest = new BucketDigest();
      const notValid: string[] = [];
      for (const r of this.#latest.values()) {
        digest.update(r.key, undefined, r.ts);
        if (r.state !== 'valid') notValid.push(r.key);
      }
      this.#summary = { lanes: digest.bucketLanes(), notValid };
    }
    return this.#summary;
  }

  write(record: KeyRecord): void {
    this.#assertOpen();
    const keyBytes = checkRecord(this.dir, record, WAL_KEY_BYTES_MAX, WAL_VALUE_BYTES_MAX);
    this.#reserve(recordFrameBytes(keyBytes, record.value.length));
    this.#batchBytes += encodeRecordInto(this.#batchBuf, this.#batchBytes, record, keyBytes);
    this.#batchFrames++;
    // Shallow: the replica replaces ts and value objects, it never mutates them.
    this.#latest.set(record.key, { ...record });
    this.#summary = undefined;
    if (this.#batchBytes >= WAL_BATCH_BYTES_MAX) this.sync();
  }

  /**
   * Group commit: appends the batch, then the version vector (if given), one fdatasync; then a
   * checkpoint if the log is long.
   */
  sync(versionVector?: Uint8Array): void {
    this.#assertOpen();
    if (versionVector) {
      const frame = encodeVvFrame(versionVector);
      this.#reserve(frame.length);
      this.#batchBytes += frame.copy(this.#batchBuf, this.#batchBytes);
      this.#batchFrames++;
    }
    this.#commitBatch();
    if (versionVector) this.#versionVector = versionVector.slice();
    const { logBytes, logFrames } = this.#current;
    if (
      logBytes >= this.#options.checkpointLogBytes ||
      logFrames >= this.#options.checkpointLogRecords
    ) {
      this.checkpoint();
    }
  }

  loadSeqHighWater(): number {
    return this.#seqHighWater;
  }

  loadVersionVector(): Uint8Array | undefined {
    return this.#versionVector?.slice();
  }

  /** Durable when it returns (commits the batch with it). */
  saveSeqHighWater(seq: number): void {
    this.#assertOpen();
    if (!Number.isSafeInteger(seq) || seq < 0)
      throw storageErrors.argument(this.dir, 'seq', 'a safe integer >= 0', seq);
    assert(
      seq >= this.#seqHighWater,
      `seq high-water mark goes back from ${this.#seqHighWater} to ${seq}`,
    );
    const frame = encodeSeqFrame(seq);
    this.#reserve(frame.length);
    this.#batchBytes += frame.copy(this.#batchBuf, this.#batchBytes);
    this.#batchFrames++;
    this.#seqHighWater = seq;
    this.sync();
  }

  loadEpoch(): number {
    this.#assertOpen();
    return this.#epoch.load();
  }

  /** Durable when it returns (its own file, replaced atomically). */
  saveEpoch(epoch: number): void {
    this.#assertOpen();
    this.#epoch.save(epoch);
  }

  /** Commits the batch, writes the snapshot of every key, and moves to the next segment. */
  checkpoint(): void {
    this.#assertOpen();
    this.#commitBatch();
    const old = { fd: this.#current.fd, path: this.segmentPath };
    const next = this.#current.number + 1;
    this.#guard('checkpoint', () => {
      writeSnapshot(
        join(this.dir, WAL_SNAPSHOT_FILE),
        join(this.dir, WAL_SNAPSHOT_TEMP_FILE),
        this.dir,
        {
          nextSegment: next,
          seqHighWater: this.#seqHighWater,
          versionVector: this.#versionVector,
          records: this.#latest.values(),
          recordCount: this.#latest.size,
        },
      );
      this.#current = createSegment(this.dir, next);
      closeSync(old.fd);
      unlinkSync(old.path);
    });
    this.stats.checkpoints++;
  }

  /** Simulated power failure (see the file comment), then reopen. */
  crash(seed: number): void {
    if (this.#state === 'closed') throw storageErrors.closed(this.dir, 'closed');
    if (this.#state === 'open' && this.#batchBytes > 0) {
      const firstFrameBytes = FRAME_HEADER_BYTES + this.#batchBuf.readUInt32LE(0);
      const tornBytes = (seed >>> 0) % firstFrameBytes;
      if (tornBytes > 0)
        writeFully(
          this.#current.fd,
          this.#batchBuf.subarray(0, tornBytes),
          this.#current.logBytes,
          this.segmentPath,
        );
    }
    closeSync(this.#current.fd);
    this.#state = 'closed';
    this.#open();
  }

  /** Commits what was written (unless the storage failed) and closes; idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'open') this.#commitBatch();
    closeSync(this.#current.fd);
    this.#state = 'closed';
  }

  #assertOpen(): void {
    if (this.#state !== 'open')
      throw storageErrors.closed(
        this.dir,
        this.#state === 'failed' ? 'failed (an earlier write or sync failed); reopen it' : 'closed',
      );
  }

  /** Runs file operations whose failure leaves the on-disk state unknown to this object. */
  #guard(op: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#state = 'failed';
      throw err instanceof StorageError ? err : storageErrors.io(this.dir, op, err);
    }
  }

  #commitBatch(): void {
    if (this.#batchBytes === 0) return;
    const bytes = this.#batchBuf.subarray(0, this.#batchBytes);
    const current = this.#current;
    this.#guard('append + fdatasync', () => {
      writeFully(current.fd, bytes, current.logBytes, this.segmentPath);
      fdatasyncSync(current.fd);
    });
    current.logBytes += bytes.length;
    current.logFrames += this.#batchFrames;
    this.stats.commits++;
    this.stats.framesCommitted += this.#batchFrames;
    this.stats.bytesCommitted += bytes.length;
    this.#batchBytes = 0;
    this.#batchFrames = 0;
  }

  /** Grows the batch buffer to take `frameBytes` more. */
  #reserve(frameBytes: number): void {
    const need = this.#batchBytes + frameBytes;
    if (need <= this.#batchBuf.length) return;
    let size = this.#batchBuf.length * 2;
    while (size < need) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.#batchBuf.copy(grown, 0, 0, this.#batchBytes);
    this.#batchBuf = grown;
  }

  /** Replays snapshot and segments into memory (see wal-directory.ts); leaves the storage open. */
  #open(): void {
    assert.equal(this.#state, 'closed');
    this.#batchBytes = 0;
    this.#batchFrames = 0;
    const replayed = replayWal(this.dir);
    this.#latest = replayed.latest;
    this.#seqHighWater = replayed.seqHighWater;
    this.#versionVector = replayed.versionVector;
    this.#current = replayed.current;
    this.#recovery = replayed.recovery;
    const replayedMs = performance.now();
    this.#summary = undefined;
    this.#summarized();
    this.#recovery.summaryMs = performance.now() - replayedMs;
    this.#state = 'open';
  }
}
