/**
 * The geometry of emulated persistent memory, shared by the region and the structures on it.
 * A cache line is the unit of flush and of crash survival; an aligned 8-byte word is the unit
 * of failure atomicity (as on x86 with ADR: a torn line keeps or loses whole words).
 */

/** Bytes in a cache line: the unit `flush` marks and a power failure keeps or drops. */
export const LINE_BYTES = 64;
export const LINE_SHIFT = 6;
/** Bytes in a failure-atomic word: an aligned 8-byte store never tears. */
export const WORD_BYTES = 8;
/** Largest region we map (1 GiB): bounds what a bad size can map. */
export const REGION_BYTES_MAX = 1 << 30;

/** Rounds `n` up to a multiple of `unit` (a power of two). */
export function roundUp(n: number, unit: number): number {
  return Math.ceil(n / unit) * unit;
}
