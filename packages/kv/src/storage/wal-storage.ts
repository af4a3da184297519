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
 *   it: `recovery` reports each one's time) and summarizes what they built (the digest of the
 *   records and the keys not Valid: `loadDigest`, `notValid`). A torn tail of the last segment
 *   is reported in `recovery.tornTail` and truncated, never applied; anything else that fails a
 *   check is a StorageError naming the file and offset.
 *
 * Directory: `snapshot` (optional), `snapshot.tmp` (a checkpoint cut short; removed on open),
 * `segment-<12 digits>.log`, numbered from 1, contiguous from the snapshot's `nextSegment`.
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
import {
  closeSync, existsSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import type { CrashableStorage } from '@heal/actors/core';
import { BucketDigest } from '../digest/bucket-digest.js';
import type { KeyRecord } from './key-record.js';
import type { KvStorage } from './kv-storage.js';
import { fsyncDir, readSnapshot, writeFully, writeSnapshot } from './checkpoint.js';
import { EpochFile } from './epoch-file.js';
import { checkRecord } from './record-check.js';
import {
  encodeRecordInto, encodeSegmentFrame, encodeSeqFrame, encodeVvFrame, FRAME_HEADER_BYTES, recordFrameBytes, scanFrames,
  WAL_KEY_BYTES_MAX, WAL_VALUE_BYTES_MAX,
} from './wal-format.js';
import { StorageError, storageErrors } from './storage-error.js';

/** Bound of the in-memory batch: the write that reaches it commits the batch. */
export const WAL_BATCH_BYTES_MAX = 4 << 20;
/** First size of the batch buffer; it doubles as needed (to the bound plus one frame). */
const BATCH_BUFFER_BYTES_INITIAL = 64 << 10;
export const WAL_CHECKPOINT_LOG_BYTES_DEFAULT = 16 << 20;
export const WAL_CHECKPOINT_LOG_RECORDS_DEFAULT = 100_000;
export const WAL_SNAPSHOT_FILE = 'snapshot';
export const WAL_SNAPSHOT_TEMP_FILE = 'snapshot.tmp';
/** The replica's persisted epoch, in the wal's directory (see epoch-file.ts). */
export const WAL_EPOCH_FILE = 'epoch';
const FIRST_SEGMENT = 1;
const SEGMENT_DIGITS = 12;
const SEGMENT_NAME = /^segment-(\d{12})\.log$/;

export interface WalOptions {
  /** Checkpoint after a sync that takes the current segment to at least this many bytes. */
  readonly checkpointLogBytes?: number;
  /** Checkpoint after a sync that takes the current segment to at least this many frames. */
  readonly checkpointLogRecords?: number;
}

/** What opening the directory found, and what each part of it took. */
export interface WalRecovery {
  snapshotRecords: number;
  segmentsReplayed: number;
  framesReplayed: number;
  /** Reading and checking the snapshot (the checkpoint). */
  snapshotMs: number;
  /** Replaying the segments written since the snapshot (the log tail). */
  logMs: number;
  /** The pass over what they built: the digest of the records and the keys not Valid. */
  summaryMs: number;
  /** Files of an interrupted checkpoint, removed. */
  staleFilesRemoved: string[];
  /** The torn end of the last segment, truncated away; undefined if it ended cleanly. */
  tornTail: { file: string; offset: number; droppedBytes: number; reason: string } | undefined;
}

export interface WalStats {
  /** Commits of a non-empty batch (one write + one fdatasync each). */
  commits: number;
  framesCommitted: number;
  bytesCommitted: number;
  checkpoints: number;
}

export function segmentFileName(segment: number): string {
  return `segment-${String(segment).padStart(SEGMENT_DIGITS, '0')}.log`;
}

function checkOptions(dir: string, options: WalOptions): Required<WalOptions> {
  const resolved = {
    checkpointLogBytes: options.checkpointLogBytes ?? WAL_CHECKPOINT_LOG_BYTES_DEFAULT,
    checkpointLogRecords: options.checkpointLogRecords ?? WAL_CHECKPOINT_LOG_RECORDS_DEFAULT,
  };
  for (const [field, v] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(v) || v < 1) throw storageErrors.argument(dir, `options.${field}`, 'a positive integer', v);
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
  #fd = -1;
  #segment = 0;
  /** Durable bytes and frames of the current segment. */
  #logBytes = 0;
  #logFrames = 0;
  #recovery!: WalRecovery;
  /** The digest's bucket lanes and the keys not Valid of `#latest`, as of open; dropped by a write. */
  #summary: { lanes: Uint32Array; notValid: string[] } | undefined;
  readonly #epoch: EpochFile;

  /** Opens (creating it if needed) the wal in directory `dir` and replays it. */
  constructor(readonly dir: string, options: WalOptions = {}) {
    this.#options = checkOptions(dir, options);
    this.#open();
    this.#epoch = new EpochFile(join(dir, WAL_EPOCH_FILE));
  }

  get recovery(): WalRecovery {
    return this.#recovery;
  }

  /** The current segment's file. */
  get segmentPath(): string {
    return join(this.dir, segmentFileName(this.#segment));
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
    for (const r of this.#latest.values()) if (buckets.has(digest.bucketOf(r.key))) yield { ...r, ts: { ...r.ts } };
  }

  notValid(): KeyRecord[] {
    this.#assertOpen();
    return this.#summarized().notValid.map((key) => ({ ...this.#latest.get(key) as KeyRecord }));
  }

  /** Built by the replay at open (recomputed if written since: a first start writing its dataset). */
  loadDigest(): Uint32Array {
    this.#assertOpen();
    return this.#summarized().lanes.slice();
  }

  openReport(): Readonly<Record<string, number>> {
    const r = this.#recovery;
    return {
      snapshotRecords: r.snapshotRecords, snapshotMs: r.snapshotMs, logFrames: r.framesReplayed, logMs: r.logMs, summaryMs: r.summaryMs,
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
    if (this.#logBytes >= this.#options.checkpointLogBytes || this.#logFrames >= this.#options.checkpointLogRecords) {
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
    if (!Number.isSafeInteger(seq) || seq < 0) throw storageErrors.argument(this.dir, 'seq', 'a safe integer >= 0', seq);
    assert(seq >= this.#seqHighWater, `seq high-water mark goes back from ${this.#seqHighWater} to ${seq}`);
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
    const old = { fd: this.#fd, path: this.segmentPath };
    const next = this.#segment + 1;
    this.#guard('checkpoint', () => {
      writeSnapshot(join(this.dir, WAL_SNAPSHOT_FILE), join(this.dir, WAL_SNAPSHOT_TEMP_FILE), this.dir, {
        nextSegment: next, seqHighWater: this.#seqHighWater, versionVector: this.#versionVector,
        records: this.#latest.values(), recordCount: this.#latest.size,
      });
      this.#createSegment(next);
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
      if (tornBytes > 0) writeFully(this.#fd, this.#batchBuf.subarray(0, tornBytes), this.#logBytes, this.segmentPath);
    }
    closeSync(this.#fd);
    this.#state = 'closed';
    this.#open();
  }

  /** Commits what was written (unless the storage failed) and closes; idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'open') this.#commitBatch();
    closeSync(this.#fd);
    this.#state = 'closed';
  }

  #assertOpen(): void {
    if (this.#state !== 'open') throw storageErrors.closed(this.dir, this.#state === 'failed' ? 'failed (an earlier write or sync failed); reopen it' : 'closed');
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
    this.#guard('append + fdatasync', () => {
      writeFully(this.#fd, bytes, this.#logBytes, this.segmentPath);
      fdatasyncSync(this.#fd);
    });
    this.#logBytes += bytes.length;
    this.#logFrames += this.#batchFrames;
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

  /** Creates segment `n` with its header frame, durable, and makes it the current one. */
  #createSegment(n: number): void {
    const path = join(this.dir, segmentFileName(n));
    const fd = openSync(path, 'wx');
    const header = encodeSegmentFrame(n);
    writeFully(fd, header, 0, path);
    fdatasyncSync(fd);
    fsyncDir(this.dir);
    this.#fd = fd;
    this.#segment = n;
    this.#logBytes = header.length;
    this.#logFrames = 1;
  }

  /** Replays snapshot and segments into memory (see the file comment); leaves the storage open. */
  #open(): void {
    assert.equal(this.#state, 'closed');
    mkdirSync(this.dir, { recursive: true });
    this.#batchBytes = 0;
    this.#batchFrames = 0;
    const stale: string[] = [];
    if (existsSync(join(this.dir, WAL_SNAPSHOT_TEMP_FILE))) {
      unlinkSync(join(this.dir, WAL_SNAPSHOT_TEMP_FILE));
      stale.push(WAL_SNAPSHOT_TEMP_FILE);
    }
    const snapshotPath = join(this.dir, WAL_SNAPSHOT_FILE);
    // Measured for reports only (openReport); nothing the replica decides depends on them.
    const startedMs = performance.now();
    const snapshot = existsSync(snapshotPath) ? readSnapshot(snapshotPath) : undefined;
    this.#latest = snapshot?.records ?? new Map<string, KeyRecord>();
    this.#seqHighWater = snapshot?.seqHighWater ?? 0;
    this.#versionVector = snapshot?.versionVector;
    const first = snapshot?.nextSegment ?? FIRST_SEGMENT;
    const live = this.#liveSegments(first, stale);
    const snapshotMs = performance.now() - startedMs;
    this.#recovery = {
      snapshotRecords: this.#latest.size, segmentsReplayed: live.length, framesReplayed: 0,
      snapshotMs, logMs: 0, summaryMs: 0, staleFilesRemoved: stale, tornTail: undefined,
    };
    live.forEach((n, i) => this.#replaySegment(n, i === live.length - 1));
    if (live.length === 0) this.#createSegment(first);
    const replayedMs = performance.now();
    this.#recovery.logMs = replayedMs - startedMs - snapshotMs;
    this.#summary = undefined;
    this.#summarized();
    this.#recovery.summaryMs = performance.now() - replayedMs;
    this.#state = 'open';
  }

  /** Segment numbers from `first` on, checked contiguous; older ones are removed as stale. */
  #liveSegments(first: number, stale: string[]): number[] {
    const all: number[] = [];
    for (const name of readdirSync(this.dir)) {
      const m = SEGMENT_NAME.exec(name);
      if (m !== null) all.push(Number(m[1]));
    }
    all.sort((a, b) => a - b);
    for (const n of all.filter((s) => s < first)) {
      unlinkSync(join(this.dir, segmentFileName(n)));
      stale.push(segmentFileName(n));
    }
    const live = all.filter((s) => s >= first);
    live.forEach((n, i) => {
      if (n !== first + i) {
        throw storageErrors.corrupt(join(this.dir, segmentFileName(first + i)), 0, `segment ${first + i} is missing (found ${segmentFileName(n)}; replay starts at ${first})`);
      }
    });
    return live;
  }

  /** Applies segment `n`; the last one may end torn (then truncated) and becomes current. */
  #replaySegment(n: number, isLast: boolean): void {
    const path = join(this.dir, segmentFileName(n));
    const buf = readFileSync(path);
    const { frames, validBytes, torn } = scanFrames(buf, path, isLast);
    const head = frames[0];
    if (head === undefined ? !isLast : head.type !== 'segment' || head.number !== n) {
      throw storageErrors.corrupt(path, 0, `segment does not start with its header frame (segment ${n})`);
    }
    for (const frame of frames.slice(1)) {
      if (frame.type === 'record') this.#latest.set(frame.record.key, frame.record);
      else if (frame.type === 'seq') this.#seqHighWater = Math.max(this.#seqHighWater, frame.seq);
      else if (frame.type === 'vv') this.#versionVector = frame.bytes;
      else throw storageErrors.corrupt(path, frame.offset, `unexpected ${frame.type} frame inside a segment`);
    }
    this.#recovery.framesReplayed += frames.length;
    if (!isLast) return;
    const fd = openSync(path, 'r+');
    if (torn !== undefined) {
      this.#recovery.tornTail = { file: path, offset: torn.offset, droppedBytes: buf.length - validBytes, reason: torn.reason };
      ftruncateSync(fd, validBytes);
    }
    this.#fd = fd;
    this.#segment = n;
    this.#logBytes = validBytes;
    this.#logFrames = frames.length;
    if (validBytes === 0) {
      const header = encodeSegmentFrame(n);
      writeFully(fd, header, 0, path);
      this.#logBytes = header.length;
      this.#logFrames = 1;
    }
    if (torn !== undefined || validBytes === 0) fdatasyncSync(fd);
  }
}
