/*
 * Self-checking records for ring tests: [u32 seq][u32 epoch][u32 checksum][payload]. The
 * payload bytes come from a PRNG seeded by (seed, epoch, seq), the checksum (FNV-1a) covers
 * payload, seq and epoch, and the length of record `seq` is a pure function of (seed, seq), so
 * a consumer can check order, loss, duplication, length and content without shared state.
 */

import { fmix32, FNV1A_32_OFFSET, fnv1aStep } from '@heal/base';

/** seq, epoch, checksum. */
export const kRecordFieldsBytes = 12;

/** A uint32 hash of an integer. */
function mix32(x: number): number {
  return fmix32(x) >>> 0;
}

/**
 * Length of record `seq`: 70% small (12..64 bytes), 25% medium (65..576), 5% within 32 bytes of
 * `maxRecordBytes` (these force wraparound and full rings).
 */
export function recordLength(seed: number, seq: number, maxRecordBytes: number): number {
  const h = mix32(seed ^ Math.imul(seq, 0x9e3779b1));
  const pick = h % 100;
  const r = h >>> 8;
  let length: number;
  if (pick < 70) length = kRecordFieldsBytes + (r % 53);
  else if (pick < 95) length = 65 + (r % 512);
  else length = maxRecordBytes - (r % 32);
  return Math.max(kRecordFieldsBytes, Math.min(length, maxRecordBytes));
}

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value & 0xff;
  bytes[at + 1] = (value >>> 8) & 0xff;
  bytes[at + 2] = (value >>> 16) & 0xff;
  bytes[at + 3] = value >>> 24;
}

export function readU32(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0
  );
}

function finishChecksum(h: number, seq: number, epoch: number): number {
  return fnv1aStep(fnv1aStep(h, seq), epoch) >>> 0;
}

/** Writes record (epoch, seq) of `length` bytes at `offset`. */
export function writeRecord(
  bytes: Uint8Array,
  offset: number,
  length: number,
  seed: number,
  epoch: number,
  seq: number,
): void {
  writeU32(bytes, offset, seq);
  writeU32(bytes, offset + 4, epoch);
  let x = mix32(seed ^ Math.imul(seq, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) | 1;
  let h = FNV1A_32_OFFSET;
  for (let i = kRecordFieldsBytes; i < length; i++) {
    if ((i & 3) === 0) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
    }
    const b = (x >>> ((i & 3) << 3)) & 0xff;
    bytes[offset + i] = b;
    h = fnv1aStep(h, b);
  }
  writeU32(bytes, offset + 8, finishChecksum(h, seq, epoch));
}

/** The checksum the record at `offset` should carry, computed from its bytes. */
export function computeChecksum(bytes: Uint8Array, offset: number, length: number): number {
  let h = FNV1A_32_OFFSET;
  for (let i = kRecordFieldsBytes; i < length; i++) h = fnv1aStep(h, bytes[offset + i]!);
  return finishChecksum(h, readU32(bytes, offset), readU32(bytes, offset + 4));
}

/**
 * Checks one received record against what must come next; returns a description of what is
 * wrong, or undefined. `expectedSeq` is the next sequence number of `epoch`.
 */
export function checkRecord(
  bytes: Uint8Array,
  offset: number,
  length: number,
  seed: number,
  maxRecordBytes: number,
  expectedSeq: number,
): string | undefined {
  if (length < kRecordFieldsBytes) return `record of ${length} bytes is shorter than its fields`;
  const seq = readU32(bytes, offset);
  if (seq !== expectedSeq)
    return `expected seq ${expectedSeq}, got ${seq} (${seq < expectedSeq ? 'duplicate' : 'lost records'})`;
  const wantLength = recordLength(seed, seq, maxRecordBytes);
  if (length !== wantLength) return `seq ${seq}: length ${length}, expected ${wantLength}`;
  const stored = readU32(bytes, offset + 8);
  const actual = computeChecksum(bytes, offset, length);
  if (stored !== actual)
    return `seq ${seq}: checksum 0x${stored.toString(16)} != computed 0x${actual.toString(16)}`;
  return undefined;
}
