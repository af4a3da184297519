/** Byte strings (see @heal/base): the conversions the codec and the stores use. */
import type { ByteString } from '@heal/base';

export { isByteString, type ByteString } from '@heal/base';

declare global {
  interface Buffer {
    // Node's Buffer has had these since its first releases; its typings leave them out.
    latin1Slice(start: number, end: number): string;
    latin1Write(value: string, offset: number, length?: number): number;
  }
}

const NOT_ASCII = /[^\0-\x7f]/;

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
