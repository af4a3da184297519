import type { Field, FieldMap, Reader, Writer } from './codec-fields.js';

/** A message type's field codecs, as straight-line functions of its definition. */
export interface CompiledFields {
  /** Bytes of the fields (header excluded); validates what sizing needs to. */
  size(msg: object): number;
  write(w: Writer, msg: object): void;
  /** Reads the fields and returns the whole message object, header values included. */
  read(r: Reader, kind: string, epoch: number, sender: number): object;
}

/** The generated code's access to field `name` of the value `m` (names are quoted, never spliced). */
const prop = (name: string): string => `m[${JSON.stringify(name)}]`;

/**
 * Generates the size, write and read functions of one message type. A generic loop over the
 * fields calls every field's methods from one call site and reads the message by a computed
 * name, which V8 cannot specialise: each site sees every field and every message kind. Here
 * every field has its own call site and property access, and decoding builds the message from
 * one object literal, so all of them stay monomorphic. The fields' own methods do the work, so
 * the wire format and every error are exactly theirs. Only names from the definition (code, not
 * input) enter the generated source, quoted with JSON.stringify.
 */
export function compileFields(kind: string, fields: FieldMap): CompiledFields {
  const entries = Object.entries(fields) as [string, Field<unknown>][];
  const params = entries.flatMap((_, i) => [`F${i}`, `P${i}`]);
  const args = entries.flatMap(([name, field]) => [field, `${kind}.${name}`]);
  let fixed = 0;
  const sized: string[] = [];
  entries.forEach(([name, field], i) => {
    if (field.fixedSize !== undefined) fixed += field.fixedSize;
    else sized.push(`F${i}.size(${prop(name)}, P${i})`);
  });
  const size = `function size(m) { return ${[String(fixed), ...sized].join(' + ')}; }`;
  const write = `function write(w, m) { ${entries.map(([name], i) => `F${i}.write(w, ${prop(name)}, P${i});`).join(' ')} }`;
  const read = `function read(r, kind, epoch, sender) {
    ${entries.map((_, i) => `const v${i} = F${i}.read(r, P${i});`).join('\n    ')}
    return { kind, epoch, sender${entries.map(([name], i) => `, ${JSON.stringify(name)}: v${i}`).join('')} };
  }`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the definition's names only (see above)
  const factory = new Function(
    ...params,
    `"use strict"; return { size: ${size}, write: ${write}, read: ${read} };`,
  ) as (...fieldsAndPaths: unknown[]) => CompiledFields;
  return factory(...args);
}

/** A struct field's codecs: `path` names the struct in errors (see `compileStruct`). */
export interface CompiledStruct {
  // Function properties, not methods: the generated functions use no `this`, so a Field may
  // take them as its own methods.
  readonly size: (value: object, path: string) => number;
  readonly write: (w: Writer, value: object, path: string) => void;
  readonly read: (r: Reader, path: string) => object;
}

/**
 * The struct counterpart of `compileFields`: straight-line size, write and read of a nested
 * record (a list's items, say), so that reading a list of them builds each item from one object
 * literal instead of adding properties one at a time through a loop that every struct shares.
 * An error thrown by a field goes through `named(err, path, fieldName)` (which completes its path).
 */
export function compileStruct(
  fields: FieldMap,
  named: (err: unknown, path: string, name: string) => unknown,
  notObject: (path: string) => unknown,
): CompiledStruct {
  const entries = Object.entries(fields) as [string, Field<unknown>][];
  const names = entries.map(([name]) => name);
  // As a key of the object literal `read` builds, it would set the item's prototype.
  if (names.includes('__proto__'))
    throw new Error(`struct{${names.join(',')}}: field name '__proto__' is reserved`);
  let fixed = 0;
  const sized: string[] = [];
  entries.forEach(([name, field], i) => {
    if (field.fixedSize !== undefined) fixed += field.fixedSize;
    else sized.push(`at = ${i}; n += F${i}.size(${prop(name)}, path);`);
  });
  const guard = (body: string): string =>
    `let at = 0; try { ${body} } catch (err) { throw named(err, path, N[at]); }`;
  const size = `function size(m, path) {
    if (typeof m !== 'object' || m === null) throw notObject(path);
    ${guard(`let n = ${fixed}; ${sized.join(' ')} return n;`)}
  }`;
  const write = `function write(w, m, path) { ${guard(entries.map(([name], i) => `at = ${i}; F${i}.write(w, ${prop(name)}, path);`).join(' '))} }`;
  const read = `function read(r, path) { ${guard(`
    ${entries.map((_, i) => `at = ${i}; const v${i} = F${i}.read(r, path);`).join('\n    ')}
    return { ${entries.map(([name], i) => `${JSON.stringify(name)}: v${i}`).join(', ')} };`)}
  }`;
  const params = entries.map((_, i) => `F${i}`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the definition's names only (see compileFields)
  const factory = new Function(
    ...params,
    'N',
    'named',
    'notObject',
    `"use strict"; return { size: ${size}, write: ${write}, read: ${read} };`,
  ) as (...fieldsAndHelpers: unknown[]) => CompiledStruct;
  return factory(...entries.map(([, field]) => field), names, named, notObject);
}
