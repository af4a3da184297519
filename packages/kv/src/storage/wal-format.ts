/**
 * The byte format shared by wal log segments and checkpoint snapshots: a file is a sequence of
 * checksummed frames, all little-endian.
 *
 * Frame:
 *   0 u32 bodyBytes | 4 u32 crc32c(bytes 0..4): the length check | 8 u32 crc32c(body) | 12 body
 * Body, by its first byte (the frame type):
 *   RECORD   0 u8 type | 1 u8 state | 2 u16 keyBytes | 4 u16 origin | 6 u16 reserved (0)
 *            8 u32 ts.cid | 12 u53 ts.version (lo, hi) | 20 u53 seq (lo, hi) | 28 u32 valueBytes
 *            32 key (UTF-8), then value
 *   SEQ      0 u8 type | 1..8 reserved (0) | 8 u53 seq high-water mark
 *   SEGMENT  0 u8 type | 1 u8 format version | 2 u16 reserved (0) | 4 u32 magic | 8 u53 number
 *   SNAPSHOT 0 u8 type | 1 u8 format version | 2 u16 reserved (0) | 4 u32 magic
 *            8 u53 next segment | 16 u53 record count
 *   VV       0 u8 type | 1..4 reserved (0) | 4 u32 bytes | 8 an encoded VersionVector
 * A segment starts with its SEGMENT frame; a sync that carries a version vector ends with its VV
 * frame (after the records it covers). A snapshot is SNAPSHOT, SEQ, an optional VV, then
 * exactly `record count` RECORD frames.
 *
 * Reading (`scanFrames`) tells a torn tail from corruption. A crash can only cut a file short
 * (a prefix of the last frame) or, after an OS crash, leave its end zero-filled or garbage
 * within the last frame. So: a partial frame at the end, a zero-filled remainder, or a last
 * frame failing its body checksum is a torn tail; any failing check with bytes of another
 * frame after it is corruption, reported with the file and offset. The length check makes a
 * flipped bit in a length field corruption rather than a long torn tail that would swallow
 * the frames after it.
 */
import assert from 'node:assert/strict';
import { crc32c } from '@heal/pmem';
import type { ActorId } from '@heal/actors/core';
import { KEY_STATES, type KeyRecord, type KeyState } from './key-record.js';
import { storageErrors } from './storage-error.js';

export const FRAME_HEADER_BYTES = 12;
export const FRAME_TYPE_RECORD = 1;
export const FRAME_TYPE_SEQ = 2;
export const FRAME_TYPE_SEGMENT = 3;
export const FRAME_TYPE_SNAPSHOT = 4;
export const FRAME_TYPE_VV = 5;
export const WAL_FORMAT_VERSION = 1;
export const SEGMENT_MAGIC = 0x4c415748; // 'HWAL' little-endian
export const SNAPSHOT_MAGIC = 0x504e5348; // 'HSNP' little-endian

const RECORD_FIXED_BYTES = 32;
const SEQ_BODY_BYTES = 16;
const SEGMENT_BODY_BYTES = 16;
const SNAPSHOT_BODY_BYTES = 24;
const VV_FIXED_BYTES = 8;
/** Largest version vector a VV frame carries. */
export const WAL_VV_BYTES_MAX = 1 << 20;
/** Largest key and value a record frame carries. */
export const WAL_KEY_BYTES_MAX = 0xffff;
export const WAL_VALUE_BYTES_MAX = 1 << 24;
/** Largest frame body: a record with the largest key and value. */
export const FRAME_BODY_BYTES_MAX = RECORD_FIXED_BYTES + WAL_KEY_BYTES_MAX + WAL_VALUE_BYTES_MAX;

const U32 = 2 ** 32;
const STATE_CODE: Record<KeyState, number> = { valid: 0, invalid: 1, write: 2, replay: 3 };
for (const s of KEY_STATES)
  assert.equal(KEY_STATES[STATE_CODE[s]], s, 'wal state codes index KEY_STATES');

export type Frame =
  | { type: 'record'; offset: number; record: KeyRecord }
  | { type: 'seq'; offset: number; seq: number }
  | { type: 'segment'; offset: number; number: number }
  | { type: 'snapshot'; offset: number; nextSegment: number; recordCount: number }
  | { type: 'vv'; offset: number; bytes: Uint8Array };

/** Why a file ends early: the frame at `offset` is cut or fails its checksum at the end. */
export interface TornTail {
  offset: number;
  reason: string;
}

export interface ScanResult {
  frames: Frame[];
  /** Bytes of complete, valid frames from the start. */
  validBytes: number;
  torn: TornTail | undefined;
}

function setU53(b: Buffer, offset: number, v: number): void {
  b.writeUInt32LE(v % U32, offset);
  b.writeUInt32LE(Math.floor(v / U32), offset + 4);
}

function getU53(b: Buffer, offset: number): number {
  return b.readUInt32LE(offset) + b.readUInt32LE(offset + 4) * U32;
}

/** Allocates a frame with `bodyBytes` of (zeroed) body; `seal` fills in the header. */
function allocFrame(bodyBytes: number): Buffer {
  return Buffer.alloc(FRAME_HEADER_BYTES + bodyBytes);
}

/** Fills in the header of the frame of `frameBytes` at `offset` of `buf`, its body written. */
function sealAt(buf: Buffer, offset: number, frameBytes: number): void {
  const bodyBytes = frameBytes - FRAME_HEADER_BYTES;
  buf.writeUInt32LE(bodyBytes, offset);
  buf.writeUInt32LE(crc32c(buf, offset, 4), offset + 4);
  buf.writeUInt32LE(crc32c(buf, offset + FRAME_HEADER_BYTES, bodyBytes), offset + 8);
}

function seal(frame: Buffer): Buffer {
  sealAt(frame, 0, frame.length);
  return frame;
}

/** Bytes of the frame of a record with a key of `keyBytes` and a value of `valueBytes`. */
export function recordFrameBytes(keyBytes: number, valueBytes: number): number {
  return FRAME_HEADER_BYTES + RECORD_FIXED_BYTES + keyBytes + valueBytes;
}

/**
 * Encodes the frame of record `r` at `offset` of `buf` (which must have room for
 * `recordFrameBytes`); `keyBytes` from `checkRecord` (record-check.ts). Returns its length.
 * Writes every byte of the frame, so `buf` may hold stale bytes there.
 */
export function encodeRecordInto(
  buf: Buffer,
  offset: number,
  r: KeyRecord,
  keyBytes: number,
): number {
  const frameBytes = recordFrameBytes(keyBytes, r.value.length);
  assert(offset + frameBytes <= buf.length, 'room for the record frame');
  const b = offset + FRAME_HEADER_BYTES;
  buf.writeUInt8(FRAME_TYPE_RECORD, b);
  buf.writeUInt8(STATE_CODE[r.state], b + 1);
  buf.writeUInt16LE(keyBytes, b + 2);
  buf.writeUInt16LE(r.origin, b + 4);
  buf.writeUInt16LE(0, b + 6);
  buf.writeUInt32LE(r.ts.cid, b + 8);
  setU53(buf, b + 12, r.ts.version);
  setU53(buf, b + 20, r.seq);
  buf.writeUInt32LE(r.value.length, b + 28);
  buf.write(r.key, b + RECORD_FIXED_BYTES, keyBytes, 'utf8');
  buf.latin1Write(r.value, b + RECORD_FIXED_BYTES + keyBytes);
  sealAt(buf, offset, frameBytes);
  return frameBytes;
}

export function encodeSeqFrame(seq: number): Buffer {
  const f = allocFrame(SEQ_BODY_BYTES);
  f.writeUInt8(FRAME_TYPE_SEQ, FRAME_HEADER_BYTES);
  setU53(f, FRAME_HEADER_BYTES + 8, seq);
  return seal(f);
}

export function encodeVvFrame(vv: Uint8Array): Buffer {
  assert(vv.length <= WAL_VV_BYTES_MAX, `a version vector of ${vv.length} bytes fits a VV frame`);
  const f = allocFrame(VV_FIXED_BYTES + vv.length);
  f.writeUInt8(FRAME_TYPE_VV, FRAME_HEADER_BYTES);
  f.writeUInt32LE(vv.length, FRAME_HEADER_BYTES + 4);
  f.set(vv, FRAME_HEADER_BYTES + VV_FIXED_BYTES);
  return seal(f);
}

export function encodeSegmentFrame(segment: number): Buffer {
  const f = allocFrame(SEGMENT_BODY_BYTES);
  const b = FRAME_HEADER_BYTES;
  f.writeUInt8(FRAME_TYPE_SEGMENT, b);
  f.writeUInt8(WAL_FORMAT_VERSION, b + 1);
  f.writeUInt32LE(SEGMENT_MAGIC, b + 4);
  setU53(f, b + 8, segment);
  return seal(f);
}

export function encodeSnapshotFrame(nextSegment: number, recordCount: number): Buffer {
  const f = allocFrame(SNAPSHOT_BODY_BYTES);
  const b = FRAME_HEADER_BYTES;
  f.writeUInt8(FRAME_TYPE_SNAPSHOT, b);
  f.writeUInt8(WAL_FORMAT_VERSION, b + 1);
  f.writeUInt32LE(SNAPSHOT_MAGIC, b + 4);
  setU53(f, b + 8, nextSegment);
  setU53(f, b + 16, recordCount);
  return seal(f);
}

/** Decodes the RECORD frame at `offset` of `buf` (checked by `scanFrames`); a fresh object. */
function decodeRecordAt(buf: Buffer, offset: number): KeyRecord {
  const b = offset + FRAME_HEADER_BYTES;
  const keyBytes = buf.readUInt16LE(b + 2);
  const keyEnd = b + RECORD_FIXED_BYTES + keyBytes;
  return {
    key: buf.toString('utf8', b + RECORD_FIXED_BYTES, keyEnd),
    ts: { version: getU53(buf, b + 12), cid: buf.readUInt32LE(b + 8) },
    value: buf.latin1Slice(keyEnd, keyEnd + buf.readUInt32LE(b + 28)),
    state: KEY_STATES[buf.readUInt8(b + 1)] as KeyState,
    origin: buf.readUInt16LE(b + 4) as ActorId,
    seq: getU53(buf, b + 20),
  };
}

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Why the body at `b` (of `n` bytes) is not a well-formed frame body, or undefined. */
function bodyProblem(buf: Buffer, b: number, n: number): string | undefined {
  const type = buf.readUInt8(b);
  const expect = (bytes: number): string | undefined =>
    n === bytes ? undefined : `frame type ${type} has a ${n}-byte body, expected ${bytes}`;
  switch (type) {
    case FRAME_TYPE_RECORD: {
      if (n < RECORD_FIXED_BYTES)
        return `record frame body of ${n} bytes is shorter than ${RECORD_FIXED_BYTES}`;
      const state = buf.readUInt8(b + 1);
      if (state >= KEY_STATES.length)
        return `record state code ${state} is not one of 0..${KEY_STATES.length - 1}`;
      const keyBytes = buf.readUInt16LE(b + 2);
      if (keyBytes === 0) return 'record key length is 0';
      if (buf.readUInt16LE(b + 6) !== 0) return 'record reserved field is not zero';
      return expect(RECORD_FIXED_BYTES + keyBytes + buf.readUInt32LE(b + 28));
    }
    case FRAME_TYPE_SEQ:
      return expect(SEQ_BODY_BYTES);
    case FRAME_TYPE_VV: {
      if (n < VV_FIXED_BYTES)
        return `vv frame body of ${n} bytes is shorter than ${VV_FIXED_BYTES}`;
      const bytes = buf.readUInt32LE(b + 4);
      if (bytes > WAL_VV_BYTES_MAX)
        return `vv frame carries ${bytes} bytes, more than ${WAL_VV_BYTES_MAX}`;
      return expect(VV_FIXED_BYTES + bytes);
    }
    case FRAME_TYPE_SEGMENT:
      if (buf.readUInt32LE(b + 4) !== SEGMENT_MAGIC)
        return 'segment frame magic is wrong (not a wal segment?)';
      if (buf.readUInt8(b + 1) !== WAL_FORMAT_VERSION)
        return `wal format version ${buf.readUInt8(b + 1)} is not ${WAL_FORMAT_VERSION}`;
      return expect(SEGMENT_BODY_BYTES);
    case FRAME_TYPE_SNAPSHOT:
      if (buf.readUInt32LE(b + 4) !== SNAPSHOT_MAGIC)
        return 'snapshot frame magic is wrong (not a wal snapshot?)';
      if (buf.readUInt8(b + 1) !== WAL_FORMAT_VERSION)
        return `wal format version ${buf.readUInt8(b + 1)} is not ${WAL_FORMAT_VERSION}`;
      return expect(SNAPSHOT_BODY_BYTES);
    default:
      return `unknown frame type ${type}`;
  }
}

function decodeFrame(buf: Buffer, offset: number): Frame {
  const b = offset + FRAME_HEADER_BYTES;
  switch (buf.readUInt8(b)) {
    case FRAME_TYPE_RECORD: {
      return { type: 'record', offset, record: decodeRecordAt(buf, offset) };
    }
    case FRAME_TYPE_SEQ:
      return { type: 'seq', offset, seq: getU53(buf, b + 8) };
    case FRAME_TYPE_SEGMENT:
      return { type: 'segment', offset, number: getU53(buf, b + 8) };
    case FRAME_TYPE_VV:
      return {
        type: 'vv',
        offset,
        bytes: Uint8Array.prototype.slice.call(
          buf,
          b + VV_FIXED_BYTES,
          b + VV_FIXED_BYTES + buf.readUInt32LE(b + 4),
        ),
      };
    default:
      return {
        type: 'snapshot',
        offset,
        nextSegment: getU53(buf, b + 8),
        recordCount: getU53(buf, b + 16),
      };
  }
}

/**
 * Reads every frame of `buf` (the content of `file`). With `tailMayTear` a torn tail is
 * returned in `torn` (frames before it are returned); without, it is corruption. Corruption
 * throws a StorageError naming `file` and the frame's offset.
 */
export function scanFrames(buf: Buffer, file: string, tailMayTear: boolean): ScanResult {
  const frames: Frame[] = [];
  const size = buf.length;
  const tear = (offset: number, reason: string): ScanResult => {
    if (!tailMayTear)
      throw storageErrors.corrupt(file, offset, `file ends in a torn frame (${reason})`);
    return { frames, validBytes: offset, torn: { offset, reason } };
  };
  let off = 0;
  while (off < size) {
    const rest = size - off;
    if (rest < FRAME_HEADER_BYTES)
      return tear(off, `partial frame header: ${rest} of ${FRAME_HEADER_BYTES} bytes`);
    const bodyBytes = buf.readUInt32LE(off);
    if (crc32c(buf, off, 4) !== buf.readUInt32LE(off + 4)) {
      if (allZero(buf, off)) return tear(off, `zero-filled tail of ${rest} bytes`);
      throw storageErrors.corrupt(file, off, 'frame length check failed (length field corrupted)');
    }
    if (bodyBytes === 0 || bodyBytes > FRAME_BODY_BYTES_MAX) {
      throw storageErrors.corrupt(
        file,
        off,
        `frame body length ${bodyBytes} is out of range [1, ${FRAME_BODY_BYTES_MAX}]`,
      );
    }
    const end = off + FRAME_HEADER_BYTES + bodyBytes;
    if (end > size)
      return tear(off, `partial frame: ${rest} of ${FRAME_HEADER_BYTES + bodyBytes} bytes`);
    if (crc32c(buf, off + FRAME_HEADER_BYTES, bodyBytes) !== buf.readUInt32LE(off + 8)) {
      if (end === size || allZero(buf, end)) return tear(off, 'last frame fails its checksum');
      throw storageErrors.corrupt(file, off, 'frame checksum mismatch, and frames follow it');
    }
    const problem = bodyProblem(buf, off + FRAME_HEADER_BYTES, bodyBytes);
    if (problem !== undefined) throw storageErrors.corrupt(file, off, problem);
    frames.push(decodeFrame(buf, off));
    off = end;
  }
  return { frames, validBytes: size, torn: undefined };
}
