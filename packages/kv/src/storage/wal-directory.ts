/**
 * The `wal` medium's directory (see wal-storage.ts): the names of its files, creating a
 * segment, and replaying snapshot + segments into memory when the wal is opened.
 *
 * Directory: `snapshot` (optional), `snapshot.tmp` (a checkpoint cut short; removed on open),
 * `segment-<12 digits>.log`, numbered from 1, contiguous from the snapshot's `nextSegment`.
 */
import {
  existsSync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import type { KeyRecord } from './key-record.js';
import { fsyncDir, readSnapshot, writeFully } from './checkpoint.js';
import { encodeSegmentFrame, scanFrames } from './wal-format.js';
import { storageErrors } from './storage-error.js';

export const WAL_SNAPSHOT_FILE = 'snapshot';
export const WAL_SNAPSHOT_TEMP_FILE = 'snapshot.tmp';
/** The replica's persisted epoch, in the wal's directory (see epoch-file.ts). */
export const WAL_EPOCH_FILE = 'epoch';
const FIRST_SEGMENT = 1;
const SEGMENT_DIGITS = 12;
const SEGMENT_NAME = /^segment-(\d{12})\.log$/;

export function segmentFileName(segment: number): string {
  return `segment-${String(segment).padStart(SEGMENT_DIGITS, '0')}.log`;
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

/** The segment appends go to: its file, number, and durable bytes and frames. */
export interface CurrentSegment {
  fd: number;
  number: number;
  logBytes: number;
  logFrames: number;
}

/** What a replay built: the latest record of every key and the marks, as of the last sync. */
export interface ReplayedWal {
  latest: Map<string, KeyRecord>;
  seqHighWater: number;
  versionVector: Uint8Array | undefined;
  /** The last segment, open for appends (its torn tail truncated). */
  current: CurrentSegment;
  /** All but `summaryMs`, which the caller measures. */
  recovery: WalRecovery;
}

/** Creates segment `n` in `dir` with its header frame, durable; it becomes the current one. */
export function createSegment(dir: string, n: number): CurrentSegment {
  const path = join(dir, segmentFileName(n));
  const fd = openSync(path, 'wx');
  const header = encodeSegmentFrame(n);
  writeFully(fd, header, 0, path);
  fdatasyncSync(fd);
  fsyncDir(dir);
  return { fd, number: n, logBytes: header.length, logFrames: 1 };
}

/**
 * Replays snapshot and segments of `dir` (created if needed) into memory. A torn tail of the
 * last segment is reported in `recovery.tornTail` and truncated, never applied; anything else
 * that fails a check is a StorageError naming the file and offset.
 */
export function replayWal(dir: string): ReplayedWal {
  mkdirSync(dir, { recursive: true });
  const stale: string[] = [];
  if (existsSync(join(dir, WAL_SNAPSHOT_TEMP_FILE))) {
    unlinkSync(join(dir, WAL_SNAPSHOT_TEMP_FILE));
    stale.push(WAL_SNAPSHOT_TEMP_FILE);
  }
  const snapshotPath = join(dir, WAL_SNAPSHOT_FILE);
  // Measured for reports only (openReport); nothing the replica decides depends on them.
  const startedMs = performance.now();
  const snapshot = existsSync(snapshotPath) ? readSnapshot(snapshotPath) : undefined;
  const latest = snapshot?.records ?? new Map<string, KeyRecord>();
  const first = snapshot?.nextSegment ?? FIRST_SEGMENT;
  const live = liveSegments(dir, first, stale);
  const snapshotMs = performance.now() - startedMs;
  const wal: Omit<ReplayedWal, 'current'> = {
    latest,
    seqHighWater: snapshot?.seqHighWater ?? 0,
    versionVector: snapshot?.versionVector,
    recovery: {
      snapshotRecords: latest.size,
      segmentsReplayed: live.length,
      framesReplayed: 0,
      snapshotMs,
      logMs: 0,
      summaryMs: 0,
      staleFilesRemoved: stale,
      tornTail: undefined,
    },
  };
  let current: CurrentSegment | undefined;
  live.forEach((n, i) => {
    current = replaySegment(dir, n, i === live.length - 1, wal);
  });
  current ??= createSegment(dir, first);
  wal.recovery.logMs = performance.now() - startedMs - snapshotMs;
  return { ...wal, current };
}

/** Segment numbers from `first` on, checked contiguous; older ones are removed as stale. */
function liveSegments(dir: string, first: number, stale: string[]): number[] {
  const all: number[] = [];
  for (const name of readdirSync(dir)) {
    const m = SEGMENT_NAME.exec(name);
    if (m !== null) all.push(Number(m[1]));
  }
  all.sort((a, b) => a - b);
  for (const n of all.filter((s) => s < first)) {
    unlinkSync(join(dir, segmentFileName(n)));
    stale.push(segmentFileName(n));
  }
  const live = all.filter((s) => s >= first);
  live.forEach((n, i) => {
    if (n !== first + i) {
      throw storageErrors.corrupt(
        join(dir, segmentFileName(first + i)),
        0,
        `segment ${first + i} is missing (found ${segmentFileName(n)}; replay starts at ${first})`,
      );
    }
  });
  return live;
}

/** Applies segment `n` to `wal`; the last one may end torn (then truncated) and is left open. */
function replaySegment(
  dir: string,
  n: number,
  isLast: boolean,
  wal: Omit<ReplayedWal, 'current'>,
): CurrentSegment | undefined {
  const path = join(dir, segmentFileName(n));
  const buf = readFileSync(path);
  const { frames, validBytes, torn } = scanFrames(buf, path, isLast);
  const head = frames[0];
  if (head === undefined ? !isLast : head.type !== 'segment' || head.number !== n) {
    throw storageErrors.corrupt(
      path,
      0,
      `segment does not start with its header frame (segment ${n})`,
    );
  }
  for (const frame of frames.slice(1)) {
    if (frame.type === 'record') wal.latest.set(frame.record.key, frame.record);
    else if (frame.type === 'seq') wal.seqHighWater = Math.max(wal.seqHighWater, frame.seq);
    else if (frame.type === 'vv') wal.versionVector = frame.bytes;
    else
      throw storageErrors.corrupt(
        path,
        frame.offset,
        `unexpected ${frame.type} frame inside a segment`,
      );
  }
  wal.recovery.framesReplayed += frames.length;
  if (!isLast) return undefined;
  const fd = openSync(path, 'r+');
  if (torn !== undefined) {
    wal.recovery.tornTail = {
      file: path,
      offset: torn.offset,
      droppedBytes: buf.length - validBytes,
      reason: torn.reason,
    };
    ftruncateSync(fd, validBytes);
  }
  const current: CurrentSegment = { fd, number: n, logBytes: validBytes, logFrames: frames.length };
  if (validBytes === 0) {
    const header = encodeSegmentFrame(n);
    writeFully(fd, header, 0, path);
    current.logBytes = header.length;
    current.logFrames = 1;
  }
  if (torn !== undefined || validBytes === 0) fdatasyncSync(fd);
  return current;
}
