/**
 * Checkpoint snapshots of the wal medium, and the small file helpers both use.
 *
 * A snapshot is the latest record of every key plus the seq high-water mark and the latest
 * version vector, as of the end of
 * every segment numbered below its `nextSegment`. It is written atomically: into a temporary
 * file, fdatasync, rename over the snapshot, fsync the directory. A crash leaves either the old
 * snapshot or the new one (and maybe a stale temporary file, which the next open removes), so a
 * snapshot that fails any check is corruption, never a torn tail.
 */
import assert from 'node:assert/strict';
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import type { KeyRecord } from './key-record.js';
import {
  encodeRecordInto,
  encodeSeqFrame,
  encodeSnapshotFrame,
  encodeVvFrame,
  recordFrameBytes,
  scanFrames,
} from './wal-format.js';
import { storageErrors } from './storage-error.js';

/** Snapshot frames are gathered into writes of about this many bytes. */
export const SNAPSHOT_WRITE_CHUNK_BYTES = 1 << 20;

export interface Snapshot {
  nextSegment: number;
  seqHighWater: number;
  /** The version vector the log had persisted, if any. */
  versionVector: Uint8Array | undefined;
  /** The records by key (fresh objects, owned by the caller). */
  records: Map<string, KeyRecord>;
  sizeBytes: number;
}

/** Writes all of `bytes` at `position` of `fd` (a write may be partial). */
export function writeFully(fd: number, bytes: Buffer, position: number, file: string): void {
  let done = 0;
  while (done < bytes.length) {
    const n = writeSync(fd, bytes, done, bytes.length - done, position + done);
    if (n <= 0)
      throw storageErrors.io(
        file,
        `write at offset ${position + done}`,
        new Error(`wrote ${n} bytes`),
      );
    done += n;
  }
}

/** Makes the directory's entries (created, renamed files) durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Atomically replaces `path` with a snapshot of `records` (validated when written) and
 * `seqHighWater`, covering every segment below `nextSegment`; returns its size in bytes.
 */
export function writeSnapshot(
  path: string,
  tempPath: string,
  dir: string,
  snapshot: {
    nextSegment: number;
    seqHighWater: number;
    versionVector: Uint8Array | undefined;
    records: Iterable<KeyRecord>;
    recordCount: number;
  },
): number {
  const fd = openSync(tempPath, 'w');
  let position = 0;
  let written = 0;
  try {
    const chunk = Buffer.allocUnsafe(SNAPSHOT_WRITE_CHUNK_BYTES);
    let used = 0;
    const flush = (): void => {
      writeFully(fd, chunk.subarray(0, used), position, tempPath);
      position += used;
      used = 0;
    };
    const head = Buffer.concat([
      encodeSnapshotFrame(snapshot.nextSegment, snapshot.recordCount),
      encodeSeqFrame(snapshot.seqHighWater),
      ...(snapshot.versionVector ? [encodeVvFrame(snapshot.versionVector)] : []),
    ]);
    head.copy(chunk);
    used = head.length;
    for (const r of snapshot.records) {
      const keyBytes = Buffer.byteLength(r.key, 'utf8');
      const frameBytes = recordFrameBytes(keyBytes, r.value.length);
      if (used + frameBytes > chunk.length) flush();
      if (frameBytes > chunk.length) {
        const big = Buffer.allocUnsafe(frameBytes);
        encodeRecordInto(big, 0, r, keyBytes);
        writeFully(fd, big, position, tempPath);
        position += frameBytes;
      } else {
        used += encodeRecordInto(chunk, used, r, keyBytes);
      }
      written++;
    }
    flush();
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  assert.equal(written, snapshot.recordCount, 'the snapshot holds exactly recordCount records');
  renameSync(tempPath, path);
  fsyncDir(dir);
  return position;
}

/** Reads and checks the snapshot at `path`; any failing check throws, naming file and offset. */
export function readSnapshot(path: string): Snapshot {
  const buf = readFileSync(path);
  const { frames } = scanFrames(buf, path, false);
  const [head, seq] = frames;
  if (head?.type !== 'snapshot')
    throw storageErrors.corrupt(path, 0, 'snapshot does not start with a snapshot frame');
  if (seq?.type !== 'seq')
    throw storageErrors.corrupt(
      path,
      seq?.offset ?? buf.length,
      'snapshot frame is not followed by a seq frame',
    );
  const vv = frames[2]?.type === 'vv' ? frames[2] : undefined;
  const first = vv ? 3 : 2;
  if (frames.length - first !== head.recordCount) {
    throw storageErrors.corrupt(
      path,
      buf.length,
      `snapshot declares ${head.recordCount} records but holds ${frames.length - first} frames after its header`,
    );
  }
  const records = new Map<string, KeyRecord>();
  for (const frame of frames.slice(first)) {
    if (frame.type !== 'record')
      throw storageErrors.corrupt(
        path,
        frame.offset,
        `snapshot holds a ${frame.type} frame among its records`,
      );
    if (records.has(frame.record.key)) {
      throw storageErrors.corrupt(
        path,
        frame.offset,
        `snapshot holds key ${JSON.stringify(frame.record.key)} twice`,
      );
    }
    records.set(frame.record.key, frame.record);
  }
  return {
    nextSegment: head.nextSegment,
    seqHighWater: seq.seq,
    versionVector: vv?.bytes,
    records,
    sizeBytes: buf.length,
  };
}
