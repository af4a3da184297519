/**
 * The string field codecs: UTF-8 strings and byte strings, each with a u32 byte length, with fast
 * paths for the short ASCII strings keys are.
 */
import { isUtf8 } from 'node:buffer';
import { isByteString, type ByteString } from './byte-string.js';
import { CodecError } from './codec-error.js';
import { MAX_BYTES_BYTES, MAX_STRING_BYTES, readLength } from './codec-cursors.js';
import type { Field } from './codec-fields.js';

/**
 * Strings up to this length that are all ASCII are measured and copied in JS: keys are short,
 * and for them a call into Buffer's native UTF-8 code costs more than the loop.
 */
const SHORT_STRING_CHARS = 64;

/** True when `value` is short and every char is ASCII (then its UTF-8 bytes are its chars). */
function isShortAscii(value: string): boolean {
  if (value.length > SHORT_STRING_CHARS) return false;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) >= 0x80) return false;
  return true;
}

/**
 * ASCII strings up to this length are decoded with one String.fromCharCode call: keys are
 * short, and Buffer's latin1 decoding is a native call that costs twice as much for them.
 * Longer ones would need concatenation, which makes cons strings a Map lookup must flatten.
 */
const SHORT_DECODE_CHARS = 8;

const fromCharCode = String.fromCharCode;

/** The string of bytes[at, at + n), one char per byte, 0 <= n <= SHORT_DECODE_CHARS. */
function shortByteString(b: Uint8Array, at: number, n: number): string {
  switch (n) {
    case 0:
      return '';
    case 1:
      return fromCharCode(b[at] as number);
    case 2:
      return fromCharCode(b[at] as number, b[at + 1] as number);
    case 3:
      return fromCharCode(b[at] as number, b[at + 1] as number, b[at + 2] as number);
    case 4:
      return fromCharCode(
        b[at] as number,
        b[at + 1] as number,
        b[at + 2] as number,
        b[at + 3] as number,
      );
    case 5:
      return fromCharCode(
        b[at] as number,
        b[at + 1] as number,
        b[at + 2] as number,
        b[at + 3] as number,
        b[at + 4] as number,
      );
    case 6:
      return fromCharCode(
        b[at] as number,
        b[at + 1] as number,
        b[at + 2] as number,
        b[at + 3] as number,
        b[at + 4] as number,
        b[at + 5] as number,
      );
    case 7:
      return fromCharCode(
        b[at] as number,
        b[at + 1] as number,
        b[at + 2] as number,
        b[at + 3] as number,
        b[at + 4] as number,
        b[at + 5] as number,
        b[at + 6] as number,
      );
    default:
      return fromCharCode(
        b[at] as number,
        b[at + 1] as number,
        b[at + 2] as number,
        b[at + 3] as number,
        b[at + 4] as number,
        b[at + 5] as number,
        b[at + 6] as number,
        b[at + 7] as number,
      );
  }
}

/** A UTF-8 string with a u32 byte length; invalid UTF-8 is rejected. */
export const string = (): Field<string> => ({
  kind: 'string',
  size(value, path) {
    if (typeof value !== 'string') throw new CodecError('encode', path, `must be a string`);
    return 4 + (isShortAscii(value) ? value.length : Buffer.byteLength(value, 'utf8'));
  },
  write(w, value, path) {
    const start = w.offset + 4;
    if (isShortAscii(value)) {
      const bytes = w.bytes;
      for (let i = 0; i < value.length; i++) bytes[start + i] = value.charCodeAt(i);
      w.view.setUint32(w.offset, value.length, true);
      w.offset = start + value.length;
      return;
    }
    const n = w.buffer.write(value, start, 'utf8');
    if (n > MAX_STRING_BYTES)
      throw new CodecError('encode', path, `string of ${n} bytes exceeds ${MAX_STRING_BYTES}`);
    w.view.setUint32(w.offset, n, true);
    w.offset = start + n;
  },
  read(r, path) {
    const n = readLength(r, path, MAX_STRING_BYTES, 'string length');
    const at = r.need(n, path);
    const bytes = r.bytes;
    let ascii = true;
    for (let i = at; i < at + n; i++) {
      if ((bytes[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii)
      return n <= SHORT_DECODE_CHARS
        ? shortByteString(bytes, at, n)
        : r.buffer.toString('latin1', at, at + n);
    if (!isUtf8(bytes.subarray(at, at + n)))
      throw new CodecError(r.message, path, `string is not valid UTF-8`);
    return r.buffer.toString('utf8', at, at + n);
  },
});

/**
 * Opaque bytes with a u32 length, held as a byte string (see byte-string.ts): decoding copies
 * them out of the (shared) source into one string.
 */
export const byteString = (): Field<ByteString> => ({
  kind: 'byteString',
  size(value, path) {
    if (!isByteString(value))
      throw new CodecError('encode', path, `must be a string of chars 0..255`);
    if (value.length > MAX_BYTES_BYTES) {
      throw new CodecError('encode', path, `${value.length} bytes exceed ${MAX_BYTES_BYTES}`);
    }
    return 4 + value.length;
  },
  write(w, value) {
    w.view.setUint32(w.offset, value.length, true);
    w.buffer.latin1Write(value, w.offset + 4);
    w.offset += 4 + value.length;
  },
  read(r, path) {
    const n = readLength(r, path, MAX_BYTES_BYTES, 'byte length');
    const at = r.need(n, path);
    return n <= SHORT_DECODE_CHARS
      ? shortByteString(r.bytes, at, n)
      : r.buffer.latin1Slice(at, at + n);
  },
});
