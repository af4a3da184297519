import type { Field, FieldMap, Reader, Writer } from './codec-fields.js';

/** A message type's field codecs, as straight-line functions of its definition. */
export interface CompiledFields {
  /** Bytes of the fields (header excluded); validates what sizing needs to. */
  size(msg: object): number;
  write(w: Writer, msg: object): void;
  /** Reads the fields and returns the whole message object, header values included. */
  read(r: Reader, kind: string, epoch: number, sender: number): object;
}

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
  const prop = (name: string): string => `m[${JSON.stringify(name)}]`;
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
  const factory = new Function(...params, `"use strict"; return { size: ${size}, write: ${write}, read: ${read} };`);
  return factory(...args) as CompiledFields;
}
