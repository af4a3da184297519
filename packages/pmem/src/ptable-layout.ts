/**
 * The on-media layout of a PTable: every offset named once.
 *
 * Region, each part starting on a line: header line | metadata area (PMeta) | journal line |
 * fingerprint sums | not-Valid bitmap | free-slot stack | key index | slots[slotCount], each
 * `slotBytes` (a multiple of 64) long.
 *
 * A slot:
 *   0  valid word, 8 bytes, written with one atomic store:
 *        0 u16 tag (COMMITTED, or 0 when the slot is free) | 2 u8 state | 3 u8 reserved (0)
 *        4 u32 crc32c(body, then the state byte)
 *   8  body:
 *        8 u53 commitSeq (lo u32, hi u32): the put that wrote it
 *       16 u53 ts.version (lo, hi) | 24 u32 ts.cid | 28 u16 origin | 30 u16 keyBytes
 *       32 u53 seq (lo, hi)        | 40 u32 valueBytes
 *       44 u32 fingerprint bucket  | 48 u32 fingerprint lane 0 | 52 u32 fingerprint lane 1
 *       56 key (UTF-8), then value
 *
 * The journal line (64 bytes):
 *    0 u32 top (free slots on the stack) | 4 u32 count (records) | 8 u53 lastSeq (the last put
 *      or delete whose every store is done)
 *   16 the intent of the last put or delete, 48 bytes, whole iff its crc matches:
 *      16 u53 seq | 24 u8 op | 25 u8 0 | 26 u16 0 | 28 u32 slot | 32 u32 prevSlot (NO_SLOT: none)
 *      36 u32 keyHash | 40 u32 topAfter | 44 u32 countAfter | 48 u32 bucket | 52 u32 lane0After
 *      56 u32 lane1After | 60 u32 crc32c(bytes 16..60)
 *
 * Fingerprint sums: per bucket, u32 lane 0 | u32 lane 1 (each the sum mod 2^32 of the lanes of
 * the records in the bucket). Bitmap: bit `s & 31` of u32 word `s >> 5` is set for every slot whose
 * record is not Valid, and maybe for a few others (see ptable-bitmap.ts).
 * Stack: u32 slot numbers; entries below `top` are the free slots, the last one is used next.
 * Key index: `indexEntries` (a power of two, at least twice the slots) 8-byte entries, each one
 * atomic store: 0 u32 slot + 1 (0 empty, TOMBSTONE deleted) | 4 u32 keyHash. Linear probing.
 */
import { LINE_BYTES, roundUp } from './geometry.js';
import { HEADER_BYTES } from './header.js';

export const PTABLE_MAGIC = 0x42415450; // 'PTAB' little-endian
/** 2: the index, free stack, count, bitmap and fingerprint sums live in the region. */
export const PTABLE_VERSION = 2;

export const WORD_OFFSET = 0;
export const WORD_BYTES = 8;
export const TAG_OFFSET = 0;
export const STATE_OFFSET = 2;
export const RESERVED8_OFFSET = 3;
export const CRC_OFFSET = 4;
export const TAG_COMMITTED = 0xc0a1;

export const BODY_OFFSET = 8;
export const COMMIT_SEQ_OFFSET = 8;
export const VERSION_OFFSET = 16;
export const CID_OFFSET = 24;
export const ORIGIN_OFFSET = 28;
export const KEY_BYTES_OFFSET = 30;
export const SEQ_OFFSET = 32;
export const VALUE_BYTES_OFFSET = 40;
export const FP_BUCKET_OFFSET = 44;
export const FP_LANE0_OFFSET = 48;
export const FP_LANE1_OFFSET = 52;
export const KEY_OFFSET = 56;

/** The journal line's fields, from its start. */
export const J_TOP_OFFSET = 0;
export const J_COUNT_OFFSET = 4;
export const J_LAST_SEQ_OFFSET = 8;
export const J_INTENT_OFFSET = 16;
export const J_SEQ_OFFSET = 16;
export const J_OP_OFFSET = 24;
export const J_SLOT_OFFSET = 28;
export const J_PREV_SLOT_OFFSET = 32;
export const J_KEY_HASH_OFFSET = 36;
export const J_TOP_AFTER_OFFSET = 40;
export const J_COUNT_AFTER_OFFSET = 44;
export const J_BUCKET_OFFSET = 48;
export const J_LANE0_OFFSET = 52;
export const J_LANE1_OFFSET = 56;
export const J_CRC_OFFSET = 60;
export const OP_PUT = 1;
export const OP_DELETE = 2;
/** `prevSlot` of a put of a new key. */
export const NO_SLOT = 0xffffffff;

export const INDEX_ENTRY_BYTES = 8;
/** Index entry of a deleted key: probes go on past it; an insert may take it. */
export const TOMBSTONE = 0xffffffff;
/** Index entries per slot at least: probe chains stay short. */
export const INDEX_ENTRIES_PER_SLOT_MIN = 2;
export const FP_SUM_BYTES = 8;
export const U32 = 2 ** 32;

/** A u53 field: lo u32, then hi u32, little-endian. */
export function readU53(dv: DataView, offset: number): number {
  return dv.getUint32(offset, true) + dv.getUint32(offset + 4, true) * U32;
}

export function writeU53(dv: DataView, offset: number, v: number): void {
  dv.setUint32(offset, v % U32, true);
  dv.setUint32(offset + 4, Math.floor(v / U32), true);
}

/** Slots beyond `capacity`, so an update of a full table always finds a slot to write. */
export const SPARE_SLOTS = 1;
/** Bounds on the layout parameters (keyBytes is stored as u16). */
export const KEY_BYTES_MAX = 0xffff;
export const VALUE_BYTES_MAX = 1 << 24;
export const CAPACITY_MAX = 1 << 24;
export const META_BYTES_DEFAULT = 1024;
export const FINGERPRINT_BUCKETS_MAX = 1 << 16;

export interface PTableLayout {
  /** Most keys the table holds. */
  readonly capacity: number;
  readonly keyMaxBytes: number;
  readonly valueMaxBytes: number;
  /** Bytes of the metadata area (two copies); a multiple of 128, default 1024. */
  readonly metaBytes?: number;
  /**
   * Buckets of fingerprint sums (0, the default: none; else a power of two): every record then
   * carries a fingerprint (bucket and two u32 lanes) and the table keeps, per bucket, the sums
   * of its records' lanes, exact after any crash.
   */
  readonly fingerprintBuckets?: number;
}

export interface ResolvedLayout {
  capacity: number;
  slotCount: number;
  keyMaxBytes: number;
  valueMaxBytes: number;
  slotBytes: number;
  metaOffset: number;
  metaBytes: number;
  fingerprintBuckets: number;
  journalOffset: number;
  sumsOffset: number;
  bitmapOffset: number;
  stackOffset: number;
  indexEntries: number;
  indexOffset: number;
  slotsOffset: number;
  totalBytes: number;
}

/** The header fields of a PTable, in order (the other offsets follow from them). */
export function layoutFields(l: ResolvedLayout): number[] {
  return [
    l.capacity,
    l.slotCount,
    l.keyMaxBytes,
    l.valueMaxBytes,
    l.slotBytes,
    l.metaOffset,
    l.metaBytes,
    l.fingerprintBuckets,
    l.indexEntries,
    l.indexOffset,
    l.slotsOffset,
  ];
}

export function resolveLayout(layout: PTableLayout): ResolvedLayout {
  const metaBytes = layout.metaBytes ?? META_BYTES_DEFAULT;
  const fingerprintBuckets = layout.fingerprintBuckets ?? 0;
  const slotCount = layout.capacity + SPARE_SLOTS;
  const slotBytes = roundUp(KEY_OFFSET + layout.keyMaxBytes + layout.valueMaxBytes, LINE_BYTES);
  const metaOffset = HEADER_BYTES;
  const journalOffset = metaOffset + metaBytes;
  const sumsOffset = journalOffset + LINE_BYTES;
  const bitmapOffset = sumsOffset + roundUp(fingerprintBuckets * FP_SUM_BYTES, LINE_BYTES);
  const stackOffset = bitmapOffset + roundUp(Math.ceil(slotCount / 32) * 4, LINE_BYTES);
  const indexEntries = 2 ** Math.ceil(Math.log2(INDEX_ENTRIES_PER_SLOT_MIN * slotCount));
  const indexOffset = stackOffset + roundUp(slotCount * 4, LINE_BYTES);
  const slotsOffset = indexOffset + indexEntries * INDEX_ENTRY_BYTES;
  return {
    capacity: layout.capacity,
    slotCount,
    keyMaxBytes: layout.keyMaxBytes,
    valueMaxBytes: layout.valueMaxBytes,
    slotBytes,
    metaOffset,
    metaBytes,
    fingerprintBuckets,
    journalOffset,
    sumsOffset,
    bitmapOffset,
    stackOffset,
    indexEntries,
    indexOffset,
    slotsOffset,
    totalBytes: slotsOffset + slotCount * slotBytes,
  };
}

/** The first problem with a layout, naming the field, or undefined. */
export function layoutProblem(layout: PTableLayout): string | undefined {
  const checks: [keyof PTableLayout, number | undefined, number, number][] = [
    ['capacity', layout.capacity, 1, CAPACITY_MAX],
    ['keyMaxBytes', layout.keyMaxBytes, 1, KEY_BYTES_MAX],
    ['valueMaxBytes', layout.valueMaxBytes, 0, VALUE_BYTES_MAX],
    ['metaBytes', layout.metaBytes ?? META_BYTES_DEFAULT, 128, 1 << 20],
    ['fingerprintBuckets', layout.fingerprintBuckets ?? 0, 0, FINGERPRINT_BUCKETS_MAX],
  ];
  for (const [field, v, min, max] of checks) {
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
      return `${field} must be an integer in [${min}, ${max}], got ${String(v)}`;
    }
  }
  if ((layout.metaBytes ?? META_BYTES_DEFAULT) % 128 !== 0)
    return `metaBytes must be a multiple of 128, got ${layout.metaBytes}`;
  const buckets = layout.fingerprintBuckets ?? 0;
  if ((buckets & (buckets - 1)) !== 0)
    return `fingerprintBuckets must be 0 or a power of two, got ${buckets}`;
  return undefined;
}
