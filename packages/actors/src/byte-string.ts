/**
 * Byte strings: opaque bytes held as a JS string with one char per byte (char codes 0..255).
 * V8 stores such a string as a single one-byte heap object, about a quarter of the footprint
 * of a small Uint8Array (the array, its ArrayBuffer and its backing store), and strings are
 * immutable, so a value can be shared between a record, its messages and its replies
 * without copies. Replicated values are held this way.
 */
export type ByteString = string;

declare global {
  interface Buffer {
    // Node's Buffer has had these since its first releases; its typings leave them out.
    latin1Slice(start: number, end: number): string;
    latin1Write(value: string, offset: number, length?: number): number;
  }
}

const NOT_A_BYTE = /[^\0-\xff]/;
const NOT_ASCII = /[^\0-\x7f]/;

/** True when every char of `value` is a byte (0..255). */
export function isByteString(value: unknown): value is ByteString {
  return typeof value === 'string' && !NOT_A_BYTE.test(value);
}

/** The byte string of `bytes` (a copy). */
export function byteStringOf(bytes: Uint8Array): ByteString {
  // A Buffer is read directly: wrapping it in another one costs as much as the slice.
  const buf = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buf.latin1Slice(0, bytes.byteLength);
}

/** The bytes of `value`, in a new Buffer. */
export function bytesOf(value: ByteString): Buffer {
  return Buffer.from(value, 'latin1');
}

/** The UTF-8 encoding of `text` as a byte string; ASCII text is its own encoding. */
export function utf8ByteString(text: string): ByteString {
  return NOT_ASCII.test(text)
    ? Buffer.from(text, 'utf8').latin1Slice(0, Buffer.byteLength(text, 'utf8'))
    : text;
}

/** The text whose UTF-8 encoding is `value`; invalid sequences decode to U+FFFD, as TextDecoder does. */
export function utf8Text(value: ByteString): string {
  return NOT_ASCII.test(value) ? Buffer.from(value, 'latin1').toString('utf8') : value;
}
