import { isUtf8 } from 'node:buffer';
import { compileStruct } from './codec-compile.js';
import { isByteString, type ByteString } from './byte-string.js';
import { CodecError } from './codec-error.js';

/**
 * Field codecs: each knows its encoded size, writes itself, and reads itself back with
 * validation. `path` names the field in errors (`inv.value`, `batch.entries[3].key`).
 */
export interface Field<T> {
  readonly kind: string;
  /** Set when every value takes these many bytes (then `size` need not be called). */
  readonly fixedSize?: number;
  size(value: T, path: string): number;
  write(w: Writer, value: T, path: string): void;
  read(r: Reader, path: string): T;
}

/** Bounds on decoded collections, so a corrupt length cannot make us allocate gigabytes. */
export const MAX_STRING_BYTES = 1 << 20;
export const MAX_BYTES_BYTES = 16 << 20;
export const MAX_LIST_ITEMS = 1 << 20;

interface Views {
  view: DataView;
  buffer: Buffer;
}

/**
 * DataView and Buffer over a byte array, made once per array: the thread runtime encodes and
 * decodes millions of records in the same ring, so a view per record would be pure garbage.
 */
const viewCache = new WeakMap<Uint8Array, Views>();

/** Arrays at least this large (rings, batch buffers) get cached views; small records do not. */
const CACHE_VIEWS_MIN_BYTES = 4096;

/** The last array looked up: a thread encodes and decodes in the same few rings, in runs. */
let lastBytes: Uint8Array | undefined;
let lastViews: Views | undefined;

function viewsOf(bytes: Uint8Array): Views {
  if (bytes === lastBytes) return lastViews as Views;
  const cached = viewCache.get(bytes);
  if (cached) {
    lastBytes = bytes;
    lastViews = cached;
    return cached;
  }
  const views = {
    view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  };
  if (bytes.byteLength >= CACHE_VIEWS_MIN_BYTES) viewCache.set(bytes, views);
  return views;
}

/** Writes into a byte range; every write is bounds-checked by the size computed before. */
export class Writer {
  readonly view: DataView;
  readonly buffer: Buffer;
  constructor(
    readonly bytes: Uint8Array,
    public offset: number,
  ) {
    ({ view: this.view, buffer: this.buffer } = viewsOf(bytes));
  }
}

/** Reads from `[offset, end)`; running past `end` is a CodecError naming the field. */
export class Reader {
  readonly view: DataView;
  readonly buffer: Buffer;
  constructor(
    readonly bytes: Uint8Array,
    public offset: number,
    public end: number,
    public message: string,
  ) {
    ({ view: this.view, buffer: this.buffer } = viewsOf(bytes));
  }

  need(n: number, path: string): number {
    const at = this.offset;
    if (n > this.end - at) {
      throw new CodecError(this.message, path, `truncated: needs ${n} bytes at offset ${at}, ${this.end - at} left`);
    }
    this.offset = at + n;
    return at;
  }
}

function checkInt(value: unknown, min: number, max: number, path: string, message = 'encode'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new CodecError(message, path, `must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function fixedInt(
  kind: string,
  bytes: number,
  min: number,
  max: number,
  put: (v: DataView, off: number, x: number) => void,
  get: (v: DataView, off: number) => number,
): Field<number> {
  return {
    kind,
    fixedSize: bytes,
    size: () => bytes,
    write(w, value, path) {
      checkInt(value, min, max, path);
      put(w.view, w.offset, value);
      w.offset += bytes;
    },
    read(r, path) {
      return get(r.view, r.need(bytes, path));
    },
  };
}

export const u8 = (): Field<number> =>
  fixedInt('u8', 1, 0, 0xff, (v, o, x) => v.setUint8(o, x), (v, o) => v.getUint8(o));
export const u16 = (): Field<number> =>
  fixedInt('u16', 2, 0, 0xffff, (v, o, x) => v.setUint16(o, x, true), (v, o) => v.getUint16(o, true));
export const u32 = (): Field<number> =>
  fixedInt('u32', 4, 0, 0xffffffff, (v, o, x) => v.setUint32(o, x, true), (v, o) => v.getUint32(o, true));
export const i32 = (): Field<number> =>
  fixedInt('i32', 4, -0x80000000, 0x7fffffff, (v, o, x) => v.setInt32(o, x, true), (v, o) => v.getInt32(o, true));

/** A non-negative safe integer (sequence numbers, byte counts): two little-endian u32 words. */
export const u53 = (): Field<number> => ({
  kind: 'u53',
  fixedSize: 8,
  size: () => 8,
  write(w, value, path) {
    checkInt(value, 0, Number.MAX_SAFE_INTEGER, path);
    w.view.setUint32(w.offset, value % 0x100000000, true);
    w.view.setUint32(w.offset + 4, Math.floor(value / 0x100000000), true);
    w.offset += 8;
  },
  read(r, path) {
    const at = r.need(8, path);
    const hi = r.view.getUint32(at + 4, true);
    if (hi > 0x1fffff) throw new CodecError(r.message, path, `u53 out of range (high word ${hi})`);
    return hi * 0x100000000 + r.view.getUint32(at, true);
  },
});

/** A finite float64 (NaN and infinities are rejected: no protocol value needs them). */
export const f64 = (): Field<number> => ({
  kind: 'f64',
  fixedSize: 8,
  size: () => 8,
  write(w, value, path) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new CodecError('encode', path, `must be a finite number, got ${String(value)}`);
    }
    w.view.setFloat64(w.offset, value, true);
    w.offset += 8;
  },
  read(r, path) {
    const value = r.view.getFloat64(r.need(8, path), true);
    if (!Number.isFinite(value)) throw new CodecError(r.message, path, `not a finite number`);
    return value;
  },
});

export const bool = (): Field<boolean> => ({
  kind: 'bool',
  fixedSize: 1,
  size: () => 1,
  write(w, value, path) {
    if (typeof value !== 'boolean') throw new CodecError('encode', path, `must be a boolean`);
    w.view.setUint8(w.offset++, value ? 1 : 0);
  },
  read(r, path) {
    const b = r.view.getUint8(r.need(1, path));
    if (b > 1) throw new CodecError(r.message, path, `boolean byte must be 0 or 1, got ${b}`);
    return b === 1;
  },
});

/** One of a fixed list of string values, encoded as its index in a u8. */
export function enumOf<const T extends string>(...values: T[]): Field<T> {
  if (values.length === 0 || values.length > 256) throw new Error('enumOf needs 1..256 values');
  return {
    kind: `enum(${values.join('|')})`,
    fixedSize: 1,
    size: () => 1,
    write(w, value, path) {
      const index = values.indexOf(value);
      if (index < 0) throw new CodecError('encode', path, `must be one of ${values.join('|')}, got ${String(value)}`);
      w.view.setUint8(w.offset++, index);
    },
    read(r, path) {
      const index = r.view.getUint8(r.need(1, path));
      const value = values[index];
      if (value === undefined) {
        throw new CodecError(r.message, path, `enum index ${index} out of range (${values.length} values)`);
      }
      return value;
    },
  };
}

function readLength(r: Reader, path: string, max: number, what: string): number {
  const n = r.view.getUint32(r.need(4, path), true);
  if (n > max) throw new CodecError(r.message, path, `${what} ${n} exceeds the bound ${max}`);
  return n;
}

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
    case 0: return '';
    case 1: return fromCharCode(b[at] as number);
    case 2: return fromCharCode(b[at] as number, b[at + 1] as number);
    case 3: return fromCharCode(b[at] as number, b[at + 1] as number, b[at + 2] as number);
    case 4: return fromCharCode(b[at] as number, b[at + 1] as number, b[at + 2] as number, b[at + 3] as number);
    case 5: return fromCharCode(b[at] as number, b[at + 1] as number, b[at + 2] as number, b[at + 3] as number, b[at + 4] as number);
    case 6:
      return fromCharCode(b[at] as number, b[at + 1] as number, b[at + 2] as number, b[at + 3] as number, b[at + 4] as number,
        b[at + 5] as number);
    case 7:
      return fromCharCode(b[at] as number, b[at + 1] as number, b[at + 2] as number, b[at + 3] as number, b[at + 4] as number,
        b[at + 5] as number, b[at + 6] as number);
    default:
      return fromCharCode(b[at] as number, b[at + 1] as number, b[at + 2] as number, b[at + 3] as number, b[at + 4] as number,
        b[at + 5] as number, b[at + 6] as number, b[at + 7] as number);
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
    if (n > MAX_STRING_BYTES) throw new CodecError('encode', path, `string of ${n} bytes exceeds ${MAX_STRING_BYTES}`);
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
    if (ascii) return n <= SHORT_DECODE_CHARS ? shortByteString(bytes, at, n) : r.buffer.toString('latin1', at, at + n);
    if (!isUtf8(bytes.subarray(at, at + n))) throw new CodecError(r.message, path, `string is not valid UTF-8`);
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
    if (!isByteString(value)) throw new CodecError('encode', path, `must be a string of chars 0..255`);
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
    return n <= SHORT_DECODE_CHARS ? shortByteString(r.bytes, at, n) : r.buffer.latin1Slice(at, at + n);
  },
});

/**
 * A nested field's error, named from its parent: children are called with the parent's path
 * (building `path[i].name` for every field of every message would cost more than the encoding)
 * and the path is completed here, only when something failed.
 */
function within(err: unknown, path: string, step: string): unknown {
  if (!(err instanceof CodecError) || !err.field.startsWith(path)) return err;
  return new CodecError(err.messageName, `${path}${step}${err.field.slice(path.length)}`, err.reason);
}

/** A list with a u32 count. */
export function list<T>(item: Field<T>, maxItems = MAX_LIST_ITEMS): Field<T[]> {
  return {
    kind: `list(${item.kind})`,
    size(value, path) {
      if (!Array.isArray(value)) throw new CodecError('encode', path, `must be an array`);
      if (value.length > maxItems) throw new CodecError('encode', path, `${value.length} items exceed ${maxItems}`);
      let n = 4;
      for (let i = 0; i < value.length; i++) {
        try {
          n += item.size(value[i] as T, path);
        } catch (err) {
          throw within(err, path, `[${i}]`);
        }
      }
      return n;
    },
    write(w, value, path) {
      w.view.setUint32(w.offset, value.length, true);
      w.offset += 4;
      for (let i = 0; i < value.length; i++) {
        try {
          item.write(w, value[i] as T, path);
        } catch (err) {
          throw within(err, path, `[${i}]`);
        }
      }
    },
    read(r, path) {
      const n = readLength(r, path, maxItems, 'item count');
      const out: T[] = [];
      for (let i = 0; i < n; i++) {
        try {
          out.push(item.read(r, path));
        } catch (err) {
          throw within(err, path, `[${i}]`);
        }
      }
      return out;
    },
  };
}

export type FieldMap = Record<string, Field<unknown>>;
export type ValueOf<F> = F extends Field<infer T> ? T : never;
export type StructOf<M extends FieldMap> = { [K in keyof M]: ValueOf<M[K]> };

/** A record of named fields, encoded in declaration order. */
export function struct<M extends FieldMap>(fields: M): Field<StructOf<M>> {
  const compiled = compileStruct(
    fields,
    (err, path, name) => within(err, path, `.${name}`),
    (path) => new CodecError('encode', path, `must be an object`),
  );
  return {
    kind: `struct{${Object.keys(fields).join(',')}}`,
    size: compiled.size,
    write: compiled.write,
    read: compiled.read as (r: Reader, path: string) => StructOf<M>,
  };
}
