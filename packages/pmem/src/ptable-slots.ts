/**
 * A PTable's slots and its free-slot stack (layout in ptable-layout.ts): encoding and decoding a
 * record in a slot, its valid word (the put's commit point), the checks a slot must pass before
 * it is read, and the slots found failing them.
 */
import { crc32cUpdate } from './checksum.js';
import { CorruptionError } from './errors.js';
import {
  BODY_OFFSET,
  CID_OFFSET,
  COMMIT_SEQ_OFFSET,
  CRC_OFFSET,
  FP_BUCKET_OFFSET,
  FP_LANE0_OFFSET,
  FP_LANE1_OFFSET,
  KEY_BYTES_OFFSET,
  KEY_OFFSET,
  ORIGIN_OFFSET,
  readU53,
  RESERVED8_OFFSET,
  SEQ_OFFSET,
  STATE_OFFSET,
  TAG_COMMITTED,
  VALUE_BYTES_OFFSET,
  VERSION_OFFSET,
  WORD_BYTES,
  writeU53,
  type ResolvedLayout,
} from './ptable-layout.js';
import type { PTableHead, PTableRecord, PTableWrite } from './ptable-record.js';
import type { PmemRegion } from './region.js';

export interface CorruptSlot {
  slot: number;
  offset: number;
  reason: string;
}

export class Slots {
  private readonly view: Buffer;
  private readonly dv: DataView;
  private readonly stateScratch = new Uint8Array(1);
  private readonly corruptSlots = new Map<number, CorruptSlot>();

  constructor(
    private readonly region: PmemRegion,
    private readonly layout: ResolvedLayout,
  ) {
    this.view = region.view;
    this.dv = new DataView(region.view.buffer, region.view.byteOffset, region.sizeBytes);
  }

  /** The offset of `slot` in the region. */
  base(slot: number): number {
    return this.layout.slotsOffset + slot * this.layout.slotBytes;
  }

  /** Whether the slot's valid word is zero (as a free slot's is durably). */
  wordIsZero(base: number): boolean {
    return this.dv.getUint32(base, true) === 0 && this.dv.getUint32(base + 4, true) === 0;
  }

  isCommitted(base: number): boolean {
    return this.dv.getUint16(base, true) === TAG_COMMITTED;
  }

  state(base: number): number {
    return this.dv.getUint8(base + STATE_OFFSET);
  }

  commitSeq(base: number): number {
    return readU53(this.dv, base + COMMIT_SEQ_OFFSET);
  }

  bucket(base: number): number {
    return this.dv.getUint32(base + FP_BUCKET_OFFSET, true);
  }

  lane0(base: number): number {
    return this.dv.getUint32(base + FP_LANE0_OFFSET, true);
  }

  lane1(base: number): number {
    return this.dv.getUint32(base + FP_LANE1_OFFSET, true);
  }

  // ---- The free-slot stack ----------------------------------------------------------------------

  stackAt(i: number): number {
    return this.dv.getUint32(this.layout.stackOffset + 4 * i, true);
  }

  setStackEntry(i: number, slot: number): void {
    const at = this.layout.stackOffset + 4 * i;
    this.dv.setUint32(at, slot, true);
    this.region.flush(at, 4);
  }

  // ---- Writing a slot ---------------------------------------------------------------------------

  /** Writes the body of `r` at slot `base`; returns its length from BODY_OFFSET. */
  writeBody(base: number, r: PTableWrite, keyBytes: number, commitSeq: number): number {
    const dv = this.dv;
    writeU53(dv, base + COMMIT_SEQ_OFFSET, commitSeq);
    writeU53(dv, base + VERSION_OFFSET, r.ts.version);
    dv.setUint32(base + CID_OFFSET, r.ts.cid, true);
    dv.setUint16(base + ORIGIN_OFFSET, r.origin, true);
    dv.setUint16(base + KEY_BYTES_OFFSET, keyBytes, true);
    writeU53(dv, base + SEQ_OFFSET, r.seq);
    dv.setUint32(base + VALUE_BYTES_OFFSET, r.value.length, true);
    dv.setUint32(base + FP_BUCKET_OFFSET, r.fingerprint?.bucket ?? 0, true);
    dv.setUint32(base + FP_LANE0_OFFSET, r.fingerprint?.lane0 ?? 0, true);
    dv.setUint32(base + FP_LANE1_OFFSET, r.fingerprint?.lane1 ?? 0, true);
    this.view.write(r.key, base + KEY_OFFSET, keyBytes, 'utf8');
    if (typeof r.value === 'string')
      this.view.write(r.value, base + KEY_OFFSET + keyBytes, 'latin1');
    else this.view.set(r.value, base + KEY_OFFSET + keyBytes);
    return KEY_OFFSET - BODY_OFFSET + keyBytes + r.value.length;
  }

  /** The valid word's checksum: the body, then the state byte. */
  private wordCrc(base: number, state: number, bodyBytes: number): number {
    this.stateScratch[0] = state;
    return crc32cUpdate(
      crc32cUpdate(0, this.view, base + BODY_OFFSET, bodyBytes),
      this.stateScratch,
      0,
      1,
    );
  }

  /** Sets the committed valid word: both halves before the next fence, so it lands whole. */
  writeWord(base: number, state: number, bodyBytes: number): void {
    this.dv.setUint32(base + CRC_OFFSET, this.wordCrc(base, state, bodyBytes), true);
    this.dv.setUint32(base, TAG_COMMITTED | (state << 16), true);
  }

  /** Zeroes a slot's valid word (it is free from the next fence on) and flushes it. */
  zeroWord(slot: number): void {
    const base = this.base(slot);
    this.dv.setUint32(base, 0, true);
    this.dv.setUint32(base + 4, 0, true);
    this.region.flush(base, WORD_BYTES);
  }

  bodyBytes(base: number): number {
    return (
      KEY_OFFSET -
      BODY_OFFSET +
      this.dv.getUint16(base + KEY_BYTES_OFFSET, true) +
      this.dv.getUint32(base + VALUE_BYTES_OFFSET, true)
    );
  }

  // ---- Checking a slot --------------------------------------------------------------------------

  /** Why the slot at `base` is not a valid committed record, or undefined. */
  problem(base: number): string | undefined {
    const dv = this.dv;
    const tag = dv.getUint16(base, true);
    if (tag !== TAG_COMMITTED) {
      return tag === 0
        ? 'free slot with a nonzero valid word'
        : `valid word tag 0x${tag.toString(16)} is not 0x${TAG_COMMITTED.toString(16)}`;
    }
    if (dv.getUint8(base + RESERVED8_OFFSET) !== 0)
      return 'reserved byte of the valid word is not zero';
    const keyBytes = dv.getUint16(base + KEY_BYTES_OFFSET, true);
    if (keyBytes === 0 || keyBytes > this.layout.keyMaxBytes)
      return `key length ${keyBytes} is out of range [1, ${this.layout.keyMaxBytes}]`;
    const valueBytes = dv.getUint32(base + VALUE_BYTES_OFFSET, true);
    if (valueBytes > this.layout.valueMaxBytes)
      return `value length ${valueBytes} exceeds ${this.layout.valueMaxBytes}`;
    const state = dv.getUint8(base + STATE_OFFSET);
    if (dv.getUint32(base + CRC_OFFSET, true) !== this.wordCrc(base, state, this.bodyBytes(base))) {
      return 'record checksum mismatch';
    }
    if (
      this.layout.fingerprintBuckets > 0 &&
      dv.getUint32(base + FP_BUCKET_OFFSET, true) >= this.layout.fingerprintBuckets
    ) {
      return 'fingerprint bucket out of range';
    }
    return undefined;
  }

  /** Records the slot as corrupt (once) and returns the error that reports it. */
  reportCorrupt(slot: number, base: number): CorruptionError {
    const reason = this.problem(base) ?? 'failed a check';
    if (!this.corruptSlots.has(slot)) this.corruptSlots.set(slot, { slot, offset: base, reason });
    return new CorruptionError(this.region.path, base, `PTable slot ${slot}: ${reason}`);
  }

  /** Throws (and reports) if the slot fails its checks. */
  verify(slot: number, base: number): void {
    if (this.problem(base) !== undefined) throw this.reportCorrupt(slot, base);
  }

  /** The slots found failing their checks so far. */
  get corrupt(): CorruptSlot[] {
    return [...this.corruptSlots.values()];
  }

  // ---- Reading a slot ---------------------------------------------------------------------------

  head(base: number): PTableHead {
    const dv = this.dv;
    return {
      ts: {
        version: readU53(dv, base + VERSION_OFFSET),
        cid: dv.getUint32(base + CID_OFFSET, true),
      },
      state: dv.getUint8(base + STATE_OFFSET),
      origin: dv.getUint16(base + ORIGIN_OFFSET, true),
      seq: readU53(dv, base + SEQ_OFFSET),
    };
  }

  /** The record in `slot`, value copied; throws CorruptionError if it fails its checks. */
  read(slot: number): PTableRecord {
    const base = this.base(slot);
    this.verify(slot, base);
    const keyBytes = this.dv.getUint16(base + KEY_BYTES_OFFSET, true);
    const valueStart = base + KEY_OFFSET + keyBytes;
    const head = this.head(base);
    return {
      key: this.decodeKey(base),
      ts: head.ts,
      value: Buffer.from(
        this.view.subarray(
          valueStart,
          valueStart + this.dv.getUint32(base + VALUE_BYTES_OFFSET, true),
        ),
      ),
      state: head.state,
      origin: head.origin,
      seq: head.seq,
    };
  }

  decodeKey(base: number): string {
    const start = base + KEY_OFFSET;
    return this.view.toString(
      'utf8',
      start,
      start + this.dv.getUint16(base + KEY_BYTES_OFFSET, true),
    );
  }

  /** Whether the slot at `base` holds `key` (its bytes; the checksum is not checked here). */
  keyEquals(base: number, key: string): boolean {
    const start = base + KEY_OFFSET;
    const stored = this.dv.getUint16(base + KEY_BYTES_OFFSET, true);
    const view = this.view;
    // ASCII compares unit to byte; a UTF-8 sequence never holds an ASCII byte, so the first
    // non-ASCII unit decides by a full compare.
    for (let i = 0; i < key.length; i++) {
      const unit = key.charCodeAt(i);
      if (unit >= 0x80) return view.toString('utf8', start, start + stored) === key;
      if (i >= stored || view[start + i] !== unit) return false;
    }
    return stored === key.length;
  }
}
