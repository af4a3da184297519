import { RingError } from './ring-error.js';

/*
 * Layout of a ring's SharedArrayBuffer. Header lines are 64 bytes apart so that the word the
 * producer writes (tail) and the word the consumer writes (head) never share a cache line.
 *
 *   byte    0  meta line      magic, version, capacityBytes, doorbell mode, doorbell id (immutable)
 *   byte   64  producer line  tail: byte offset in the data area just past the last published record;
 *                             space-waiting flag (the producer blocks on the head word)
 *   byte  128  consumer line  head: byte offset of the next record to read
 *   byte  192  producer stats published, fullRejects (Float64, informational)
 *   byte  256  consumer stats polled, discarded (Float64, informational)
 *   byte  320  embedded doorbell (used when the ring was created without one)
 *   byte  384  data area, capacityBytes long
 *
 * A record is [u32 length][payload], padded to kRecordAlignBytes, contiguous in the data area.
 * When a record does not fit before the end, the producer writes kWrapMarker in place of a
 * length and the record starts at offset 0. tail === head means empty; the producer never
 * lets the tail catch up with the head from behind (one gap of at least kRecordAlignBytes), so
 * full and empty are told apart. Only the producer writes tail, only the consumer writes head.
 */
const kLineBytes = 64;
/** Int32 indices of the header words. */
export const kRingMagicIndex = 0;
export const kRingVersionIndex = 1;
export const kRingCapacityIndex = 2;
export const kRingDoorbellModeIndex = 3;
export const kRingDoorbellIdIndex = 4;
export const kTailIndex = kLineBytes / 4; // 16
/** 1 while the producer blocks in `waitForSpace` (on the head word); written by the producer. */
export const kSpaceWaitingIndex = kTailIndex + 1;
export const kHeadIndex = (2 * kLineBytes) / 4; // 32
/** Float64 indices of the statistics. */
export const kRingPublishedStat = (3 * kLineBytes) / 8; // 24
export const kRingFullRejectsStat = kRingPublishedStat + 1;
export const kRingPolledStat = (4 * kLineBytes) / 8; // 32
export const kRingDiscardedStat = kRingPolledStat + 1;
export const kRingEmbeddedDoorbellOffset = 5 * kLineBytes; // 320
export const kRingHeaderBytes = 6 * kLineBytes; // 384

export const kRingMagic = 0x52696e67; // 'Ring'
export const kRingVersion = 1;
export const kDoorbellEmbedded = 1;
export const kDoorbellExternal = 2;

/** Bytes of the length word in front of every record. */
export const kRecordHeaderBytes = 4;
/** Records start at multiples of this (payloads are 4-byte aligned too). */
export const kRecordAlignBytes = 4;
/** A length word with this value says: the next record is at offset 0. */
export const kWrapMarker = 0xffffffff;
/** Capacity must be a multiple of this, so that half of it is a whole number of words. */
export const kRingCapacityAlignBytes = 8;
export const kRingMinCapacityBytes = 16;
/** Offsets are Int32 in the header. */
export const kRingMaxCapacityBytes = 2 ** 30;

/** Bytes a record of `length` payload bytes takes in the data area. */
export function paddedBytes(length: number): number {
  return kRecordHeaderBytes + ((length + kRecordAlignBytes - 1) & ~(kRecordAlignBytes - 1));
}

export function checkCapacity(capacityBytes: number): void {
  if (
    !Number.isSafeInteger(capacityBytes) ||
    capacityBytes < kRingMinCapacityBytes ||
    capacityBytes > kRingMaxCapacityBytes ||
    capacityBytes % kRingCapacityAlignBytes !== 0
  ) {
    throw new RingError(
      `capacityBytes must be a multiple of ${kRingCapacityAlignBytes} in [${kRingMinCapacityBytes}, ${kRingMaxCapacityBytes}], got ${capacityBytes}`,
    );
  }
}

/** Checks magic, version, capacity and indices; returns capacityBytes. */
export function validateHeader(header: Int32Array, byteLength: number): number {
  const magic = Atomics.load(header, kRingMagicIndex);
  if (magic !== kRingMagic) {
    throw new RingError(
      `SpscRing: bad magic 0x${(magic >>> 0).toString(16)} (expected 0x${kRingMagic.toString(16)}): not a ring`,
    );
  }
  const version = header[kRingVersionIndex];
  if (version !== kRingVersion)
    throw new RingError(`SpscRing: unsupported version ${version} (expected ${kRingVersion})`);
  const capacityBytes = header[kRingCapacityIndex]!;
  if (capacityBytes !== byteLength - kRingHeaderBytes) {
    throw new RingError(
      `SpscRing: header capacityBytes ${capacityBytes} does not match the buffer (${byteLength} bytes - header ${kRingHeaderBytes})`,
    );
  }
  checkCapacity(capacityBytes);
  for (const [name, index] of [
    ['tail', kTailIndex],
    ['head', kHeadIndex],
  ] as const) {
    const value = Atomics.load(header, index);
    if (value < 0 || value >= capacityBytes || value % kRecordAlignBytes !== 0) {
      throw new RingError(
        `SpscRing: header ${name} ${value} is not a ${kRecordAlignBytes}-byte aligned offset in [0, ${capacityBytes})`,
      );
    }
  }
  return capacityBytes;
}
