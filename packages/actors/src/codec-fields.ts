import { compileStruct } from './codec-compile.js';
import { CodecError } from './codec-error.js';
import { MAX_LIST_ITEMS, readLength, type Reader, type Writer } from './codec-cursors.js';

export {
  MAX_BYTES_BYTES,
  MAX_LIST_ITEMS,
  MAX_STRING_BYTES,
  Reader,
  Writer,
} from './codec-cursors.js';
export { byteString, string } from './codec-strings.js';

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

function checkInt(
  value: unknown,
  min: number,
  max: number,
  path: string,
  message = 'encode',
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new CodecError(
      message,
      path,
      `must be an integer in [${min}, ${max}], got ${String(value)}`,
    );
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
  fixedInt(
    'u8',
    1,
    0,
    0xff,
    (v, o, x) => v.setUint8(o, x),
    (v, o) => v.getUint8(o),
  );
export const u16 = (): Field<number> =>
  fixedInt(
    'u16',
    2,
    0,
    0xffff,
    (v, o, x) => v.setUint16(o, x, true),
    (v, o) => v.getUint16(o, true),
  );
export const u32 = (): Field<number> =>
  fixedInt(
    'u32',
    4,
    0,
    0xffffffff,
    (v, o, x) => v.setUint32(o, x, true),
    (v, o) => v.getUint32(o, true),
  );
export const i32 = (): Field<number> =>
  fixedInt(
    'i32',
    4,
    -0x80000000,
    0x7fffffff,
    (v, o, x) => v.setInt32(o, x, true),
    (v, o) => v.getInt32(o, true),
  );

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
      if (index < 0)
        throw new CodecError(
          'encode',
          path,
          `must be one of ${values.join('|')}, got ${String(value)}`,
        );
      w.view.setUint8(w.offset++, index);
    },
    read(r, path) {
      const index = r.view.getUint8(r.need(1, path));
      const value = values[index];
      if (value === undefined) {
        throw new CodecError(
          r.message,
          path,
          `enum index ${index} out of range (${values.length} values)`,
        );
      }
      return value;
    },
  };
}

/**
 * A nested field's error, named from its parent: children are called with the parent's path
 * (building `path[i].name` for every field of every message would cost more than the encoding)
 * and the path is completed here, only when something failed.
 */
function within(err: unknown, path: string, step: string): unknown {
  if (!(err instanceof CodecError) || !err.field.startsWith(path)) return err;
  return new CodecError(
    err.messageName,
    `${path}${step}${err.field.slice(path.length)}`,
    err.reason,
  );
}

/** A list with a u32 count. */
export function list<T>(item: Field<T>, maxItems = MAX_LIST_ITEMS): Field<T[]> {
  return {
    kind: `list(${item.kind})`,
    size(value, path) {
      if (!Array.isArray(value)) throw new CodecError('encode', path, `must be an array`);
      if (value.length > maxItems)
        throw new CodecError('encode', path, `${value.length} items exceed ${maxItems}`);
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
