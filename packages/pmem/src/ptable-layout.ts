/**
 * The on-media layout of a PTable: offsets within a slot, named once.
 *
 * Region: header line | metadata area (PMeta) | slots[slotCount], each `slotBytes` (a multiple
 * of 64) long. A slot:
 *   0  valid word, 8 bytes, written with one atomic store:
 *        0 u16 tag (COMMITTED, or 0 when the slot is free) | 2 u8 state | 3 u8 reserved (0)
 *        4 u32 crc32c(body, then the state byte)
 *   8  body:
 *        8 u53 commitSeq (lo u32, hi u32): orders two committed slots of one key
 *       16 u53 ts.version (lo, hi) | 24 u32 ts.cid | 28 u16 origin | 30 u16 keyBytes
 *       32 u53 seq (lo, hi)        | 40 u32 valueBytes | 44 u32 reserved (0)
 *       48 key (UTF-8), then value
 */
import { LINE_BYTES, roundUp } from './geometry.js';
import { HEADER_BYTES } from './header.js';

export const PTABLE_MAGIC = 0x42415450; // 'PTAB' little-endian
export const PTABLE_VERSION = 1;

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
export const RESERVED32_OFFSET = 44;
export const KEY_OFFSET = 48;

/** Slots beyond `capacity`, so an update of a full table always finds a slot to write. */
export const SPARE_SLOTS = 1;
/** Bounds on the layout parameters (keyBytes is stored as u16). */
export const KEY_BYTES_MAX = 0xffff;
export const VALUE_BYTES_MAX = 1 << 24;
export const CAPACITY_MAX = 1 << 24;
export const META_BYTES_DEFAULT = 1024;

export interface PTableLayout {
  /** Most keys the table holds. */
  readonly capacity: number;
  readonly keyMaxBytes: number;
  readonly valueMaxBytes: number;
  /** Bytes of the metadata area (two copies); a multiple of 128, default 1024. */
  readonly metaBytes?: number;
}

export interface ResolvedLayout {
  capacity: number;
  slotCount: number;
  keyMaxBytes: number;
  valueMaxBytes: number;
  slotBytes: number;
  metaOffset: number;
  metaBytes: number;
  slotsOffset: number;
  totalBytes: number;
}

/** The header fields of a PTable, in order. */
export function layoutFields(l: ResolvedLayout): number[] {
  return [l.capacity, l.slotCount, l.keyMaxBytes, l.valueMaxBytes, l.slotBytes, l.metaOffset, l.metaBytes, l.slotsOffset];
}

export function resolveLayout(layout: PTableLayout): ResolvedLayout {
  const metaBytes = layout.metaBytes ?? META_BYTES_DEFAULT;
  const slotCount = layout.capacity + SPARE_SLOTS;
  const slotBytes = roundUp(KEY_OFFSET + layout.keyMaxBytes + layout.valueMaxBytes, LINE_BYTES);
  const metaOffset = HEADER_BYTES;
  const slotsOffset = metaOffset + metaBytes;
  return {
    capacity: layout.capacity, slotCount, keyMaxBytes: layout.keyMaxBytes, valueMaxBytes: layout.valueMaxBytes,
    slotBytes, metaOffset, metaBytes, slotsOffset, totalBytes: slotsOffset + slotCount * slotBytes,
  };
}

/** The first problem with a layout, naming the field, or undefined. */
export function layoutProblem(layout: PTableLayout): string | undefined {
  const checks: [keyof PTableLayout, number | undefined, number, number][] = [
    ['capacity', layout.capacity, 1, CAPACITY_MAX],
    ['keyMaxBytes', layout.keyMaxBytes, 1, KEY_BYTES_MAX],
    ['valueMaxBytes', layout.valueMaxBytes, 0, VALUE_BYTES_MAX],
    ['metaBytes', layout.metaBytes ?? META_BYTES_DEFAULT, 128, 1 << 20],
  ];
  for (const [field, v, min, max] of checks) {
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
      return `${field} must be an integer in [${min}, ${max}], got ${String(v)}`;
    }
  }
  if ((layout.metaBytes ?? META_BYTES_DEFAULT) % 128 !== 0) return `metaBytes must be a multiple of 128, got ${layout.metaBytes}`;
  return undefined;
}
