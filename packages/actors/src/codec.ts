import { CodecError } from './codec-error.js';
import { compileFields, type CompiledFields } from './codec-compile.js';
import { Reader, Writer, type FieldMap, type StructOf } from './codec-fields.js';
import type { ActorId } from './actor.js';

/**
 * Binary codec for actor messages. Every record is a fixed header then the fields of its type:
 *
 *   offset 0  u16 type     message type code
 *   offset 2  u32 length   whole record in bytes, header included
 *   offset 6  u32 epoch    sender's view epoch
 *   offset 10 u16 sender   sending actor id
 *
 * All little-endian. Decoding validates the header against the record's framing, then every
 * field, then that no bytes are left over; any violation is a CodecError naming the field.
 */
export const HEADER_BYTES = 12;
const kTypeOffset = 0;
const kLengthOffset = 2;
const kEpochOffset = 6;
const kSenderOffset = 10;

/** What every message carries besides its own fields. */
export interface MessageHeader {
  epoch: number;
  sender: ActorId;
}

export interface MessageDef<K extends string = string, F extends FieldMap = FieldMap> {
  readonly type: number;
  readonly kind: K;
  readonly fields: F;
}

/** The message object a definition describes: `{ kind, epoch, sender, ...fields }`. */
export type MessageOf<D> =
  D extends MessageDef<infer K, infer F> ? { kind: K } & MessageHeader & StructOf<F> : never;

/** Declares a message type: its numeric code, its `kind` name and its fields in wire order. */
export function defineMessage<const K extends string, F extends FieldMap>(
  type: number,
  kind: K,
  fields: F,
): MessageDef<K, F> {
  if (!Number.isInteger(type) || type < 0 || type > 0xffff)
    throw new Error(`message type ${type} is not a u16`);
  // `__proto__` as a field would set the decoded message's prototype.
  for (const reserved of ['kind', 'epoch', 'sender', '__proto__']) {
    if (Object.hasOwn(fields, reserved))
      throw new Error(`message ${kind}: field name '${reserved}' is reserved`);
  }
  return { type, kind, fields };
}

interface Compiled {
  def: MessageDef;
  fields: CompiledFields;
}

/**
 * Compiled field codecs by definition, shared by every Codec that has the definition (a replica
 * module's codec and each recovery meter's hold the same ones): compiling is a cost at a worker's
 * start, and the functions depend only on the definition. Bounded by the definitions a program
 * declares; a WeakMap, so a definition dropped is dropped from it too.
 */
const compiledByDef = new WeakMap<MessageDef, CompiledFields>();

function compiledFieldsOf(def: MessageDef): CompiledFields {
  let fields = compiledByDef.get(def);
  if (fields === undefined) {
    fields = compileFields(def.kind, def.fields);
    compiledByDef.set(def, fields);
  }
  return fields;
}

/** The codec of one protocol: the set of its message definitions. */
export class Codec<M extends { kind: string } & MessageHeader> {
  readonly #byType = new Map<number, Compiled>();
  readonly #byKind = new Map<string, Compiled>();

  constructor(defs: readonly MessageDef[]) {
    for (const def of defs) {
      if (this.#byType.has(def.type))
        throw new Error(`duplicate message type ${def.type} (${def.kind})`);
      if (this.#byKind.has(def.kind)) throw new Error(`duplicate message kind ${def.kind}`);
      const compiled: Compiled = { def, fields: compiledFieldsOf(def) };
      this.#byType.set(def.type, compiled);
      this.#byKind.set(def.kind, compiled);
    }
  }

  #compiled(msg: M): Compiled {
    const compiled = this.#byKind.get(msg.kind);
    if (!compiled)
      throw new CodecError('encode', 'kind', `unknown message kind ${JSON.stringify(msg.kind)}`);
    return compiled;
  }

  /** Bytes `msg` takes on the wire, header included; validates every field. */
  sizeOf(msg: M): number {
    return HEADER_BYTES + this.#compiled(msg).fields.size(msg);
  }

  /**
   * Writes `msg` at `offset` in `target`, which must have `size` bytes free there (as returned
   * by `sizeOf`); returns `size`.
   */
  encodeInto(msg: M, target: Uint8Array, offset: number, size: number): number {
    const { def, fields } = this.#compiled(msg);
    if (offset < 0 || offset + size > target.byteLength) {
      throw new RangeError(
        `encodeInto: ${size} bytes at ${offset} do not fit in ${target.byteLength}`,
      );
    }
    const w = new Writer(target, offset);
    checkHeader(msg);
    w.view.setUint16(offset + kTypeOffset, def.type, true);
    w.view.setUint32(offset + kLengthOffset, size, true);
    w.view.setUint32(offset + kEpochOffset, msg.epoch, true);
    w.view.setUint16(offset + kSenderOffset, msg.sender, true);
    w.offset = offset + HEADER_BYTES;
    fields.write(w, msg);
    if (w.offset - offset !== size) {
      throw new CodecError(
        'encode',
        def.kind,
        `wrote ${w.offset - offset} bytes, expected ${size}`,
      );
    }
    return size;
  }

  /** Encodes `msg` into a new buffer. */
  encode(msg: M): Uint8Array {
    const size = this.sizeOf(msg);
    const out = new Uint8Array(size);
    this.encodeInto(msg, out, 0, size);
    return out;
  }

  /**
   * Decodes the record occupying exactly `[offset, offset + length)` of `source`. Throws only
   * CodecError; on success the message is complete and shares no memory with `source`.
   */
  decode(source: Uint8Array, offset = 0, length = source.byteLength - offset): M {
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > source.byteLength
    ) {
      throw new CodecError(
        'record',
        'framing',
        `range [${offset}, ${offset + length}) outside ${source.byteLength} bytes`,
      );
    }
    const r = new Reader(source, offset, offset + length, 'record');
    const at = r.need(HEADER_BYTES, 'header');
    const type = r.view.getUint16(at + kTypeOffset, true);
    const declared = r.view.getUint32(at + kLengthOffset, true);
    const compiled = this.#byType.get(type);
    if (!compiled) throw new CodecError('record', 'header.type', `unknown message type ${type}`);
    const { def, fields } = compiled;
    if (declared !== length) {
      throw new CodecError(
        def.kind,
        'header.length',
        `declares ${declared} bytes, record has ${length}`,
      );
    }
    r.message = def.kind;
    const out = fields.read(
      r,
      def.kind,
      r.view.getUint32(at + kEpochOffset, true),
      r.view.getUint16(at + kSenderOffset, true),
    );
    if (r.offset !== r.end) {
      throw new CodecError(
        def.kind,
        'trailer',
        `${r.end - r.offset} bytes left after the last field`,
      );
    }
    return out as M;
  }

  /** Message type code of a kind (for tests and tooling). */
  typeOf(kind: string): number | undefined {
    return this.#byKind.get(kind)?.def.type;
  }
}

function checkHeader(msg: MessageHeader): void {
  const { epoch, sender } = msg;
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffffffff) {
    throw new CodecError('encode', 'header.epoch', `must be a u32, got ${String(epoch)}`);
  }
  if (!Number.isInteger(sender) || sender < 0 || sender > 0xffff) {
    throw new CodecError(
      'encode',
      'header.sender',
      `must be a u16 actor id, got ${String(sender)}`,
    );
  }
}
