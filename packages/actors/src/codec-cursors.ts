/**
 * The byte cursors field codecs write and read through (codec-fields.ts), over views made once
 * per byte array, and the bounds on decoded lengths.
 */
import { CodecError } from './codec-error.js';

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
      throw new CodecError(
        this.message,
        path,
        `truncated: needs ${n} bytes at offset ${at}, ${this.end - at} left`,
      );
    }
    this.offset = at + n;
    return at;
  }
}

/** Reads a u32 length of `what`, at most `max`. */
export function readLength(r: Reader, path: string, max: number, what: string): number {
  const n = r.view.getUint32(r.need(4, path), true);
  if (n > max) throw new CodecError(r.message, path, `${what} ${n} exceeds the bound ${max}`);
  return n;
}
