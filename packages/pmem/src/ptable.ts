/**
 * `PTable`: a fixed-capacity table of versioned records `(key, ts, value, state, origin, seq)`
 * on a region, with a small atomically updated metadata area (`writeMeta`/`readMeta`).
 *
 * Commit protocol of `put` (never overwrites the current version of a key):
 *   1. write the body into a free slot (its valid word is durable zero); persist the body;
 *   2. write the valid word (tag, state, crc of body and state) with one 8-byte store; persist;
 *   3. if the key had a slot, zero that slot's valid word; persist.
 * A crash before 2 is durable leaves the slot free; after 2 and before 3, two committed slots
 * hold the key and recovery keeps the one with the higher commit sequence. `setState` updates
 * in place: it rewrites only the valid word (one atomic store), so it is all or nothing.
 * `delete` zeroes the valid word and persists it.
 *
 * Recovery (`open`) scans every slot, rebuilds the key index and the free list, frees the
 * older of duplicate versions, and reports (never returns) slots that fail their checks; those
 * stay quarantined, out of the free list. `get` re-verifies the checksum on every read.
 *
 * Owned by one thread, like its region. Bounds: `capacity` keys, `capacity + SPARE_SLOTS` slots.
 */
import assert from 'node:assert/strict';
import { crc32cUpdate } from './checksum.js';
import { CorruptionError, PmemError, pmemErrors } from './errors.js';
import { readHeader, writeHeader } from './header.js';
import { PMeta, type MetaValue } from './meta.js';
import {
  BODY_OFFSET, CID_OFFSET, COMMIT_SEQ_OFFSET, CRC_OFFSET, KEY_BYTES_OFFSET, KEY_OFFSET,
  layoutFields, layoutProblem, ORIGIN_OFFSET, PTABLE_MAGIC, PTABLE_VERSION, RESERVED32_OFFSET,
  RESERVED8_OFFSET, resolveLayout, SEQ_OFFSET, STATE_OFFSET, TAG_COMMITTED, VALUE_BYTES_OFFSET,
  VERSION_OFFSET, WORD_BYTES, type PTableLayout, type ResolvedLayout,
} from './ptable-layout.js';
import type { PmemRegion } from './region.js';

/** Record states the replicated store uses; the table stores any u8 and interprets none. */
export const RecordState = { Invalid: 0, Valid: 1, Write: 2, Replay: 3 } as const;

export interface Timestamp {
  /** u53 */
  version: number;
  /** u32: the id of the coordinator that wrote it. */
  cid: number;
}

export interface PTableRecord {
  key: string;
  ts: Timestamp;
  value: Uint8Array;
  /** u8, e.g. a RecordState. */
  state: number;
  /** u16: the replica that originated the write. */
  origin: number;
  /** u53: the originator's sequence number of the write. */
  seq: number;
}

export interface CorruptSlot {
  slot: number;
  offset: number;
  reason: string;
}

export interface PTableRecovery {
  records: number;
  freeSlots: number;
  /** Slots that failed a check: reported here, quarantined, never returned. */
  corrupt: CorruptSlot[];
  /** Older versions left by a crash between commit and free, now freed. */
  duplicatesFreed: number;
}

const U32 = 2 ** 32;

export class PTable {
  readonly layout: ResolvedLayout;
  readonly recovery: PTableRecovery;
  private readonly view: Buffer;
  private readonly dv: DataView;
  private readonly meta: PMeta;
  private readonly index = new Map<string, number>();
  private readonly freeList: Int32Array;
  private freeTop = 0;
  private quarantined = 0;
  private nextCommitSeq = 1;
  private readonly stateScratch = new Uint8Array(1);

  private constructor(private readonly region: PmemRegion, layout: ResolvedLayout) {
    this.layout = layout;
    this.view = region.view;
    this.dv = new DataView(region.view.buffer, region.view.byteOffset, region.sizeBytes);
    this.freeList = new Int32Array(layout.slotCount);
    this.meta = new PMeta(region, layout.metaOffset, layout.metaBytes);
    this.recovery = this.recover();
    this.assertInvariants();
  }

  /** Region bytes a table of this layout needs. */
  static bytesFor(layout: PTableLayout): number {
    const problem = layoutProblem(layout);
    if (problem !== undefined) throw new PmemError('ERR_PMEM_ARGUMENT', 'PTable', undefined, problem);
    return resolveLayout(layout).totalBytes;
  }

  /** Erases `region` and writes an empty table of `layout` on it. */
  static format(region: PmemRegion, layout: PTableLayout): void {
    region.assertOpen();
    const problem = layoutProblem(layout);
    if (problem !== undefined) throw new PmemError('ERR_PMEM_ARGUMENT', region.path, undefined, problem);
    const resolved = resolveLayout(layout);
    if (resolved.totalBytes > region.sizeBytes) {
      throw pmemErrors.argument(region.path, 'layout', `at most the region size (${region.sizeBytes} bytes)`, `${resolved.totalBytes} bytes (PTable.bytesFor)`);
    }
    region.view.fill(0);
    region.persist(0, region.sizeBytes);
    writeHeader(region, PTABLE_MAGIC, PTABLE_VERSION, layoutFields(resolved));
  }

  /** Opens and recovers the table on `region`; see `recovery` for what was found. */
  static open(region: PmemRegion): PTable {
    region.assertOpen();
    const f = readHeader(region, PTABLE_MAGIC, PTABLE_VERSION, 'PTable');
    const [capacity, slotCount, keyMaxBytes, valueMaxBytes, slotBytes, metaOffset, metaBytes, slotsOffset] = f as
      [number, number, number, number, number, number, number, number];
    const problem = layoutProblem({ capacity, keyMaxBytes, valueMaxBytes, metaBytes });
    const layout = resolveLayout({ capacity, keyMaxBytes, valueMaxBytes, metaBytes });
    const declared = [capacity, slotCount, keyMaxBytes, valueMaxBytes, slotBytes, metaOffset, metaBytes, slotsOffset];
    if (problem !== undefined || layoutFields(layout).some((v, i) => v !== declared[i])) {
      throw new CorruptionError(region.path, 8, `PTable header declares an impossible layout (${problem ?? declared.join(',')})`);
    }
    if (layout.totalBytes > region.sizeBytes) {
      throw new CorruptionError(region.path, region.sizeBytes, `file is ${region.sizeBytes} bytes but its PTable header declares ${layout.totalBytes} (truncated?)`);
    }
    return new PTable(region, layout);
  }

  get size(): number {
    return this.index.size;
  }

  get capacity(): number {
    return this.layout.capacity;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  /** Inserts or replaces the record of `record.key`; durable when this returns. */
  put(record: PTableRecord): void {
    this.region.assertOpen();
    const keyBytes = this.checkRecord(record);
    const old = this.index.get(record.key);
    if (old === undefined && this.index.size >= this.layout.capacity) {
      throw pmemErrors.full(this.region.path, this.layout.slotsOffset, `PTable full: ${this.index.size} keys, capacity ${this.layout.capacity}`);
    }
    if (this.freeTop === 0) {
      throw pmemErrors.full(this.region.path, this.layout.slotsOffset, `PTable has no free slot (${this.quarantined} quarantined)`);
    }
    const slot = this.freeList[--this.freeTop] as number;
    const base = this.slotBase(slot);
    const bodyBytes = this.writeBody(base, record, keyBytes);
    this.region.persist(base + BODY_OFFSET, bodyBytes);
    this.writeWord(base, record.state, bodyBytes);
    this.region.persist(base, WORD_BYTES);
    this.index.set(record.key, slot);
    if (old !== undefined) this.freeSlot(old);
  }

  /** The record of `key` (value copied), or undefined. Throws CorruptionError if it fails its checksum. */
  get(key: string): PTableRecord | undefined {
    this.region.assertOpen();
    const slot = this.index.get(key);
    return slot === undefined ? undefined : this.readSlot(slot);
  }

  /** Changes the state of `key` in place with one atomic word store; false if absent. */
  setState(key: string, state: number): boolean {
    this.region.assertOpen();
    if (!isUint(state, 0xff)) throw pmemErrors.argument(this.region.path, 'state', 'an integer in [0, 255]', state);
    const slot = this.index.get(key);
    if (slot === undefined) return false;
    const base = this.slotBase(slot);
    this.verifySlot(slot, base);
    this.writeWord(base, state, this.bodyBytes(base));
    this.region.persist(base, WORD_BYTES);
    return true;
  }

  /** Removes `key`; durable when this returns. False if absent. */
  delete(key: string): boolean {
    this.region.assertOpen();
    const slot = this.index.get(key);
    if (slot === undefined) return false;
    this.index.delete(key);
    this.freeSlot(slot);
    return true;
  }

  keys(): IterableIterator<string> {
    return this.index.keys();
  }

  *entries(): IterableIterator<PTableRecord> {
    for (const slot of this.index.values()) yield this.readSlot(slot);
  }

  /** Atomically replaces the metadata area's content (at most `metaPayloadBytesMax`). */
  writeMeta(bytes: Uint8Array): void {
    this.meta.write(bytes);
  }

  /** The last complete metadata written, or undefined if none. */
  readMeta(): MetaValue | undefined {
    return this.meta.read();
  }

  get metaPayloadBytesMax(): number {
    return this.meta.payloadBytesMax;
  }

  /** Checks the table's invariants against the media; throws AssertionError on a breach. */
  assertInvariants(): void {
    const { slotCount, capacity } = this.layout;
    assert.ok(this.index.size <= capacity, `${this.index.size} keys exceed capacity ${capacity}`);
    assert.equal(this.freeTop + this.index.size + this.quarantined, slotCount, 'every slot is free, live or quarantined');
    const seen = new Uint8Array(slotCount);
    for (let i = 0; i < this.freeTop; i++) {
      const slot = this.freeList[i] as number;
      assert.equal(seen[slot], 0, `slot ${slot} is in the free list twice`);
      seen[slot] = 1;
      const base = this.slotBase(slot);
      assert.ok(this.dv.getUint32(base, true) === 0 && this.dv.getUint32(base + 4, true) === 0, `free slot ${slot} has a nonzero valid word`);
    }
    for (const [key, slot] of this.index) {
      assert.equal(seen[slot], 0, `slot ${slot} is both free and live, or live twice`);
      seen[slot] = 1;
      const base = this.slotBase(slot);
      assert.equal(this.slotProblem(base), undefined, `live slot ${slot} fails its checks`);
      assert.equal(this.decodeKey(base), key, `slot ${slot} holds another key`);
      assert.ok(this.u53(base + COMMIT_SEQ_OFFSET) < this.nextCommitSeq, 'commit sequences only grow');
    }
  }

  private slotBase(slot: number): number {
    return this.layout.slotsOffset + slot * this.layout.slotBytes;
  }

  /** Validates a record at the edge; returns its key's UTF-8 length. */
  private checkRecord(r: PTableRecord): number {
    const path = this.region.path;
    if (typeof r.key !== 'string') throw pmemErrors.argument(path, 'key', 'a string', typeof r.key);
    const keyBytes = Buffer.byteLength(r.key, 'utf8');
    const { keyMaxBytes, valueMaxBytes } = this.layout;
    if (keyBytes === 0 || keyBytes > keyMaxBytes) throw pmemErrors.argument(path, 'key', `1 to ${keyMaxBytes} UTF-8 bytes`, `${keyBytes} bytes`);
    if (!(r.value instanceof Uint8Array) || r.value.length > valueMaxBytes) {
      throw pmemErrors.argument(path, 'value', `a Uint8Array of at most ${valueMaxBytes} bytes`, r.value?.length);
    }
    if (!isUint(r.ts?.version, Number.MAX_SAFE_INTEGER)) throw pmemErrors.argument(path, 'ts.version', 'a safe integer >= 0', r.ts?.version);
    if (!isUint(r.ts.cid, U32 - 1)) throw pmemErrors.argument(path, 'ts.cid', 'an integer in [0, 2^32)', r.ts.cid);
    if (!isUint(r.state, 0xff)) throw pmemErrors.argument(path, 'state', 'an integer in [0, 255]', r.state);
    if (!isUint(r.origin, 0xffff)) throw pmemErrors.argument(path, 'origin', 'an integer in [0, 65535]', r.origin);
    if (!isUint(r.seq, Number.MAX_SAFE_INTEGER)) throw pmemErrors.argument(path, 'seq', 'a safe integer >= 0', r.seq);
    return keyBytes;
  }

  /** Writes the body of `r` at slot `base`; returns its length from BODY_OFFSET. */
  private writeBody(base: number, r: PTableRecord, keyBytes: number): number {
    const dv = this.dv;
    this.setU53(base + COMMIT_SEQ_OFFSET, this.nextCommitSeq++);
    this.setU53(base + VERSION_OFFSET, r.ts.version);
    dv.setUint32(base + CID_OFFSET, r.ts.cid, true);
    dv.setUint16(base + ORIGIN_OFFSET, r.origin, true);
    dv.setUint16(base + KEY_BYTES_OFFSET, keyBytes, true);
    this.setU53(base + SEQ_OFFSET, r.seq);
    dv.setUint32(base + VALUE_BYTES_OFFSET, r.value.length, true);
    dv.setUint32(base + RESERVED32_OFFSET, 0, true);
    this.view.write(r.key, base + KEY_OFFSET, keyBytes, 'utf8');
    this.view.set(r.value, base + KEY_OFFSET + keyBytes);
    return KEY_OFFSET - BODY_OFFSET + keyBytes + r.value.length;
  }

  /** The valid word's checksum: the body, then the state byte. */
  private wordCrc(base: number, state: number, bodyBytes: number): number {
    this.stateScratch[0] = state;
    return crc32cUpdate(crc32cUpdate(0, this.view, base + BODY_OFFSET, bodyBytes), this.stateScratch, 0, 1);
  }

  /** Sets the committed valid word: both halves before the next fence, so it lands whole. */
  private writeWord(base: number, state: number, bodyBytes: number): void {
    this.dv.setUint32(base + CRC_OFFSET, this.wordCrc(base, state, bodyBytes), true);
    this.dv.setUint32(base, TAG_COMMITTED | (state << 16), true);
  }

  private freeSlot(slot: number): void {
    const base = this.slotBase(slot);
    this.dv.setUint32(base, 0, true);
    this.dv.setUint32(base + 4, 0, true);
    this.region.persist(base, WORD_BYTES);
    this.freeList[this.freeTop++] = slot;
  }

  private bodyBytes(base: number): number {
    return KEY_OFFSET - BODY_OFFSET + this.dv.getUint16(base + KEY_BYTES_OFFSET, true) +
      this.dv.getUint32(base + VALUE_BYTES_OFFSET, true);
  }

  /** Why the slot at `base` is not a valid committed record, or undefined. */
  private slotProblem(base: number): string | undefined {
    const dv = this.dv;
    const tag = dv.getUint16(base, true);
    if (tag !== TAG_COMMITTED) {
      return tag === 0 ? 'free slot with a nonzero valid word' : `valid word tag 0x${tag.toString(16)} is not 0x${TAG_COMMITTED.toString(16)}`;
    }
    if (dv.getUint8(base + RESERVED8_OFFSET) !== 0) return 'reserved byte of the valid word is not zero';
    const keyBytes = dv.getUint16(base + KEY_BYTES_OFFSET, true);
    if (keyBytes === 0 || keyBytes > this.layout.keyMaxBytes) return `key length ${keyBytes} is out of range [1, ${this.layout.keyMaxBytes}]`;
    const valueBytes = dv.getUint32(base + VALUE_BYTES_OFFSET, true);
    if (valueBytes > this.layout.valueMaxBytes) return `value length ${valueBytes} exceeds ${this.layout.valueMaxBytes}`;
    const state = dv.getUint8(base + STATE_OFFSET);
    if (dv.getUint32(base + CRC_OFFSET, true) !== this.wordCrc(base, state, this.bodyBytes(base))) {
      return 'record checksum mismatch';
    }
    return undefined;
  }

  private verifySlot(slot: number, base: number): void {
    const problem = this.slotProblem(base);
    if (problem !== undefined) throw new CorruptionError(this.region.path, base, `PTable slot ${slot}: ${problem}`);
  }

  private readSlot(slot: number): PTableRecord {
    const base = this.slotBase(slot);
    this.verifySlot(slot, base);
    const dv = this.dv;
    const keyBytes = dv.getUint16(base + KEY_BYTES_OFFSET, true);
    const valueStart = base + KEY_OFFSET + keyBytes;
    return {
      key: this.decodeKey(base),
      ts: { version: this.u53(base + VERSION_OFFSET), cid: dv.getUint32(base + CID_OFFSET, true) },
      value: Buffer.from(this.view.subarray(valueStart, valueStart + dv.getUint32(base + VALUE_BYTES_OFFSET, true))),
      state: dv.getUint8(base + STATE_OFFSET),
      origin: dv.getUint16(base + ORIGIN_OFFSET, true),
      seq: this.u53(base + SEQ_OFFSET),
    };
  }

  private decodeKey(base: number): string {
    const start = base + KEY_OFFSET;
    return this.view.toString('utf8', start, start + this.dv.getUint16(base + KEY_BYTES_OFFSET, true));
  }

  private u53(offset: number): number {
    return this.dv.getUint32(offset, true) + this.dv.getUint32(offset + 4, true) * U32;
  }

  private setU53(offset: number, v: number): void {
    this.dv.setUint32(offset, v % U32, true);
    this.dv.setUint32(offset + 4, Math.floor(v / U32), true);
  }

  /** Rebuilds the index and free list from the media; see the file comment. */
  private recover(): PTableRecovery {
    const corrupt: CorruptSlot[] = [];
    let duplicatesFreed = 0;
    let maxCommitSeq = 0;
    for (let slot = this.layout.slotCount - 1; slot >= 0; slot--) {
      const base = this.slotBase(slot);
      if (this.dv.getUint32(base, true) === 0 && this.dv.getUint32(base + 4, true) === 0) {
        this.freeList[this.freeTop++] = slot;
        continue;
      }
      const problem = this.slotProblem(base);
      if (problem !== undefined) {
        corrupt.push({ slot, offset: base, reason: problem });
        continue;
      }
      const key = this.decodeKey(base);
      const commitSeq = this.u53(base + COMMIT_SEQ_OFFSET);
      maxCommitSeq = Math.max(maxCommitSeq, commitSeq);
      const other = this.index.get(key);
      if (other === undefined) {
        this.index.set(key, slot);
        continue;
      }
      const otherSeq = this.u53(this.slotBase(other) + COMMIT_SEQ_OFFSET);
      if (otherSeq === commitSeq) {
        corrupt.push({ slot, offset: base, reason: `duplicate commit sequence ${commitSeq} for key ${JSON.stringify(key)}` });
        continue;
      }
      this.index.set(key, commitSeq > otherSeq ? slot : other);
      this.freeSlot(commitSeq > otherSeq ? other : slot);
      duplicatesFreed++;
    }
    this.quarantined = corrupt.length;
    this.nextCommitSeq = maxCommitSeq + 1;
    if (this.index.size > this.layout.capacity) {
      throw new CorruptionError(this.region.path, this.layout.slotsOffset, `${this.index.size} live records exceed capacity ${this.layout.capacity}`);
    }
    corrupt.reverse();
    return { records: this.index.size, freeSlots: this.freeTop, corrupt, duplicatesFreed };
  }
}

function isUint(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}
