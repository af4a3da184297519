/**
 * Byte strings: opaque bytes held as a JS string with one char per byte (char codes 0..255).
 * V8 stores such a string as a single one-byte heap object, about a quarter of the footprint
 * of a small Uint8Array (the array, its ArrayBuffer and its backing store), and strings are
 * immutable, so a value can be shared between a record, its messages and its replies
 * without copies. Replicated values are held this way; the codec (in @heal/actors) and the
 * persistent table (in @heal/pmem) write them to bytes without an intermediate copy.
 */
export type ByteString = string;

const NOT_A_BYTE = /[^\0-\xff]/;

/** True when every char of `value` is a byte (0..255). */
export function isByteString(value: unknown): value is ByteString {
  return typeof value === 'string' && !NOT_A_BYTE.test(value);
}
