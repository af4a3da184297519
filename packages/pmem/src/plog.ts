/**
 * `PLog`: an append-only log of checksummed records on a region.
 *
 * Layout: a header line (magic 'PLOG'), then records from offset 64, each 8-byte aligned:
 *   0 u32 payloadBytes | 4 u32 crc32c(payloadBytes as 4 LE bytes, then payload) | 8 payload
 * `append` writes a record at the tail and persists it before returning; records are never
 * rewritten. Everything past the tail is zero, so recovery scans from the first record to the
 * first header that is zero (the clean end) or fails its checks (a torn tail). It then zeroes
 * the window a torn append could have touched (one maximal record), so a later append never
 * sits in front of stale bytes, and reports what it found.
 *
 * Bounds: `maxRecordBytes` (fixed at format) bounds a record and so the recovery window.
 */
import assert from 'node:assert/strict';
import { crc32cUpdate } from './checksum.js';
import { CorruptionError, PmemError, pmemErrors } from './errors.js';
import { roundUp } from './geometry.js';
import { HEADER_BYTES, readHeader, writeHeader } from './header.js';
import type { PmemRegion } from './region.js';

const PLOG_MAGIC = 0x474f4c50; // 'PLOG' little-endian
const PLOG_VERSION = 1;
const RECORD_HEADER_BYTES = 8;
const RECORD_ALIGN_BYTES = 8;
const FIELD_MAX_RECORD_BYTES = 0;
/** Default bound on one record's payload. */
export const PLOG_MAX_RECORD_BYTES_DEFAULT = 64 * 1024;

export interface PLogOptions {
  /** Largest payload an append may carry; default 64 KiB. */
  readonly maxRecordBytes?: number;
}

/** What recovery found: how many records survive, and the torn tail if there was one. */
export interface PLogRecovery {
  records: number;
  tailOffset: number;
  tornTail?: { offset: number; reason: string; bytesCleared: number };
}

export interface PLogRecord {
  offset: number;
  payload: Buffer;
}

/** Owned by one thread, like its region. */
export class PLog {
  private tail: number;
  private count: number;
  private readonly dv: DataView;
  private readonly lenScratch = new Uint8Array(4);

  private constructor(
    private readonly region: PmemRegion,
    readonly maxRecordBytes: number,
    readonly recovery: PLogRecovery,
  ) {
    this.dv = new DataView(region.view.buffer, region.view.byteOffset, region.sizeBytes);
    this.tail = recovery.tailOffset;
    this.count = recovery.records;
  }

  /** Erases `region` and writes an empty log on it. */
  static format(region: PmemRegion, options: PLogOptions = {}): void {
    const max = options.maxRecordBytes ?? PLOG_MAX_RECORD_BYTES_DEFAULT;
    if (
      !Number.isSafeInteger(max) ||
      max <= 0 ||
      HEADER_BYTES + RECORD_HEADER_BYTES + max > region.sizeBytes
    ) {
      throw pmemErrors.argument(
        region.path,
        'maxRecordBytes',
        `a positive integer that fits the region (${region.sizeBytes} bytes)`,
        max,
      );
    }
    region.view.fill(0, HEADER_BYTES);
    region.persist(HEADER_BYTES, region.sizeBytes - HEADER_BYTES);
    writeHeader(region, PLOG_MAGIC, PLOG_VERSION, [max]);
  }

  /** Opens the log on `region`, scanning to its last valid record (see `recovery`). */
  static open(region: PmemRegion): PLog {
    region.assertOpen();
    const fields = readHeader(region, PLOG_MAGIC, PLOG_VERSION, 'PLog');
    const max = fields[FIELD_MAX_RECORD_BYTES] as number;
    if (max === 0 || HEADER_BYTES + RECORD_HEADER_BYTES + max > region.sizeBytes) {
      throw new CorruptionError(
        region.path,
        8,
        `PLog maxRecordBytes ${max} does not fit a region of ${region.sizeBytes} bytes`,
      );
    }
    return new PLog(region, max, recover(region, max));
  }

  get tailOffset(): number {
    return this.tail;
  }

  get recordCount(): number {
    return this.count;
  }

  /** Bytes still free for records (headers and padding included). */
  get freeBytes(): number {
    return this.region.sizeBytes - this.tail;
  }

  /** Appends a record and persists it; returns its offset. Durable when this returns. */
  append(payload: Uint8Array): number {
    this.region.assertOpen();
    const len = payload.length;
    if (len > this.maxRecordBytes) {
      throw pmemErrors.argument(
        this.region.path,
        'payload',
        `at most maxRecordBytes=${this.maxRecordBytes} bytes`,
        `${len} bytes`,
      );
    }
    const offset = this.tail;
    const next = offset + RECORD_HEADER_BYTES + roundUp(len, RECORD_ALIGN_BYTES);
    if (next > this.region.sizeBytes) {
      throw pmemErrors.full(
        this.region.path,
        offset,
        `PLog full: a ${len}-byte record needs ${next - offset} bytes, ${this.freeBytes} free`,
      );
    }
    this.region.view.set(payload, offset + RECORD_HEADER_BYTES);
    this.dv.setUint32(offset, len, true);
    this.dv.setUint32(offset + 4, recordCrc(this.region.view, offset, len, this.lenScratch), true);
    this.region.persist(offset, RECORD_HEADER_BYTES + len);
    this.tail = next;
    this.count++;
    return offset;
  }

  /** The payload of the record at `offset` (a copy); throws if it is not a valid record. */
  read(offset: number): Buffer {
    this.region.assertOpen();
    if (
      !Number.isInteger(offset) ||
      offset < HEADER_BYTES ||
      offset >= this.tail ||
      offset % RECORD_ALIGN_BYTES !== 0
    ) {
      throw new PmemError(
        'ERR_PMEM_RANGE',
        this.region.path,
        offset,
        `no PLog record starts here (records are in [${HEADER_BYTES}, ${this.tail}))`,
      );
    }
    const problem = checkRecord(
      this.region.view,
      this.dv,
      offset,
      this.maxRecordBytes,
      this.lenScratch,
    );
    if (problem !== undefined) throw new CorruptionError(this.region.path, offset, problem);
    const len = this.dv.getUint32(offset, true);
    return Buffer.from(
      this.region.view.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + len),
    );
  }

  /** Every record, oldest first. */
  *entries(): IterableIterator<PLogRecord> {
    let offset = HEADER_BYTES;
    while (offset < this.tail) {
      const payload = this.read(offset);
      yield { offset, payload };
      offset += RECORD_HEADER_BYTES + roundUp(payload.length, RECORD_ALIGN_BYTES);
    }
    assert.equal(offset, this.tail, 'PLog records end exactly at the tail');
  }
}

function recordCrc(view: Uint8Array, offset: number, len: number, scratch: Uint8Array): number {
  // Checksums the length as written (little-endian) so a zero header never validates.
  scratch[0] = len & 0xff;
  scratch[1] = (len >>> 8) & 0xff;
  scratch[2] = (len >>> 16) & 0xff;
  scratch[3] = len >>> 24;
  return crc32cUpdate(crc32cUpdate(0, scratch, 0, 4), view, offset + RECORD_HEADER_BYTES, len);
}

/** Why the bytes at `offset` are not a valid record, or undefined if they are. */
function checkRecord(
  view: Buffer,
  dv: DataView,
  offset: number,
  max: number,
  scratch: Uint8Array,
): string | undefined {
  if (offset + RECORD_HEADER_BYTES > view.length)
    return 'record header extends past the end of the region';
  const len = dv.getUint32(offset, true);
  if (len > max) return `record length ${len} exceeds maxRecordBytes ${max}`;
  if (offset + RECORD_HEADER_BYTES + len > view.length)
    return `record of ${len} bytes extends past the end of the region`;
  const stored = dv.getUint32(offset + 4, true);
  if (stored !== recordCrc(view, offset, len, scratch))
    return `record checksum mismatch (length ${len})`;
  return undefined;
}

/**
 * A torn append is the last thing written, so no valid record can follow it. If the bad
 * record's length is plausible and a valid record follows it, the log is damaged in the middle:
 * truncating there would drop good records, so recovery refuses.
 */
function assertNotMidLog(
  region: PmemRegion,
  dv: DataView,
  offset: number,
  max: number,
  reason: string,
  scratch: Uint8Array,
): void {
  const len = dv.getUint32(offset, true);
  if (len > max) return;
  const next = offset + RECORD_HEADER_BYTES + roundUp(len, RECORD_ALIGN_BYTES);
  if (next + RECORD_HEADER_BYTES > region.sizeBytes) return;
  if (dv.getUint32(next, true) === 0 && dv.getUint32(next + 4, true) === 0) return;
  if (checkRecord(region.view, dv, next, max, scratch) !== undefined) return;
  throw new CorruptionError(
    region.path,
    offset,
    `PLog record is damaged (${reason}) but a valid record follows at offset ${next}: corruption inside the log, not a torn tail`,
  );
}

function recover(region: PmemRegion, max: number): PLogRecovery {
  const view = region.view;
  const dv = new DataView(view.buffer, view.byteOffset, view.length);
  const scratch = new Uint8Array(4);
  let offset = HEADER_BYTES;
  let records = 0;
  let reason: string | undefined;
  while (offset + RECORD_HEADER_BYTES <= view.length) {
    if (dv.getUint32(offset, true) === 0 && dv.getUint32(offset + 4, true) === 0) break;
    reason = checkRecord(view, dv, offset, max, scratch);
    if (reason !== undefined) break;
    offset += RECORD_HEADER_BYTES + roundUp(dv.getUint32(offset, true), RECORD_ALIGN_BYTES);
    records++;
  }
  if (reason !== undefined) assertNotMidLog(region, dv, offset, max, reason, scratch);
  const windowEnd = Math.min(
    view.length,
    offset + RECORD_HEADER_BYTES + roundUp(max, RECORD_ALIGN_BYTES),
  );
  const dirty = offset < windowEnd && view.subarray(offset, windowEnd).some((b) => b !== 0);
  if (!dirty) return { records, tailOffset: Math.min(offset, view.length) };
  view.fill(0, offset, windowEnd);
  region.persist(offset, windowEnd - offset);
  return {
    records,
    tailOffset: offset,
    tornTail: {
      offset,
      reason: reason ?? 'nonzero bytes after the last record (a torn append)',
      bytesCleared: windowEnd - offset,
    },
  };
}
