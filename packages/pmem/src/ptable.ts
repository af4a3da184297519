/**
 * `PTable`: a fixed-capacity table of versioned records `(key, ts, value, state, origin, seq)` on
 * a region, and a small atomically updated metadata area (`writeMeta`/`readMeta`). The table is
 * the store, not a copy of it (ARCHITECTURE.md §5 Durability): its key index, its free slots, its record
 * count, a bitmap of the records that may not be Valid and (optionally) per-bucket sums of the
 * records' fingerprints live in the region (layout in ptable-layout.ts). So `open` costs
 * O(metadata): the header, the metadata area, one journal line and the bitmap, never a slot.
 *
 * `put` of key K into the free slot s on top of the stack (p: K's slot before, if any):
 *   P1. write s's body (commit sequence q, fingerprint) and the intent in the journal line: q,
 *       s, p, K's hash and the value each structure takes in P3 (top, count, the bucket's
 *       sums); set s's not-Valid bit if the record is not Valid (clear a stale one if it is).
 *       Persist.
 *   P2. write s's valid word (tag, state, crc of body and state), one 8-byte store. Persist.
 *       This is the commit point.
 *   P3. point K's index entry at s (or insert one), zero p's valid word and clear p's bit,
 *       stack[topAfter - 1] := p (an insert only pops), top, count, lastSeq := q, the bucket's
 *       sums. Persist.
 * `delete` of K (slot s): P1 the intent, persisted: the commit point. P2 tombstone K's entry,
 * zero s's valid word, clear its bit, push s, top, count, lastSeq, sums. Persist.
 * `setState` rewrites the valid word alone (one atomic store, one persist); to a state other
 * than Valid it first sets the slot's bit and persists it; to Valid it clears the bit after.
 *
 * Crash consistency, for `strict` crashes (only fenced lines survive) and `adversarial` ones
 * (lines stored since their last fence may also survive, revert or tear by 8-byte words):
 * - One put or delete is in flight at a time: each persists its P3 before the next begins.
 * - The intent, once durable, names every store its last step makes as an absolute value (never
 *   "the old value plus"), so that step can be redone any number of times: redo is idempotent.
 *   The intent's crc tells a whole intent from one torn by a crash in the next operation's P1.
 * - A free slot's valid word is durably zero (format and every persisted P3 leave it so), and
 *   the valid word is one atomic store: s is committed in a crash image iff P2's store survived,
 *   and then P1, fenced before it, is whole (body, intent, bit).
 * - `open` reads the intent. Torn or absent: the operation it belonged to never reached P2 (its
 *   P1 was not fenced), and the one before completed its last step before it began: nothing to
 *   do. A put whose slot holds the intent's commit sequence, committed: redo P3. A put whose
 *   slot does not: it never committed, and P3 never began, so index, stack, count and sums are
 *   untouched; s is still free (its body may be half written: it is never read). A delete: redo
 *   P2.
 * - So after `open`, in either mode: K's index entry names one committed slot, holding a version
 *   that was put whole (the crc covers body and state), never torn, never mixed; the put or
 *   delete in flight happened whole or not at all; no older version of K stays visible (p is
 *   freed by the redo); top, count and the sums agree with the slots. A `setState` in flight
 *   left the old or the new word. Bits: a slot's bit is durably set before its record may be
 *   not-Valid (P1, or setState's first persist) and cleared only once the slot is Valid or free,
 *   so the set bits cover every not-Valid record; stale ones are cleared by `open`.
 * - `open` repairs in bounded work: one redo (a probe chain, a few lines) and one pass over the
 *   bitmap (slotCount / 32 words plus one check per set bit).
 * A record that fails its checksum (media corruption, never a crash) is never returned: `get`
 * throws CorruptionError, iteration skips it, and either reports it in `corrupt`.
 *
 * Owned by one thread, like its region. Bounds: `capacity` keys, `capacity + SPARE_SLOTS` slots;
 * a probe visits at most `indexEntries` entries.
 */
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { fmix32, fnv1a32 } from '@heal/base';
import { crc32cUpdate } from './checksum.js';
import { CorruptionError, PmemError, pmemErrors } from './errors.js';
import { LINE_BYTES } from './geometry.js';
import { readHeader, writeHeader } from './header.js';
import { PMeta, type MetaValue } from './meta.js';
import {
  BODY_OFFSET, CID_OFFSET, COMMIT_SEQ_OFFSET, CRC_OFFSET, FP_BUCKET_OFFSET, FP_LANE0_OFFSET, FP_LANE1_OFFSET,
  FP_SUM_BYTES, INDEX_ENTRY_BYTES, J_BUCKET_OFFSET, J_COUNT_AFTER_OFFSET, J_COUNT_OFFSET, J_CRC_OFFSET,
  J_INTENT_OFFSET, J_KEY_HASH_OFFSET, J_LANE0_OFFSET, J_LANE1_OFFSET, J_LAST_SEQ_OFFSET, J_OP_OFFSET,
  J_PREV_SLOT_OFFSET, J_SEQ_OFFSET, J_SLOT_OFFSET, J_TOP_AFTER_OFFSET, J_TOP_OFFSET, KEY_BYTES_OFFSET, KEY_OFFSET,
  layoutFields, layoutProblem, NO_SLOT, OP_DELETE, OP_PUT, ORIGIN_OFFSET, PTABLE_MAGIC, PTABLE_VERSION,
  RESERVED8_OFFSET, resolveLayout, SEQ_OFFSET, STATE_OFFSET, TAG_COMMITTED, TOMBSTONE, VALUE_BYTES_OFFSET,
  VERSION_OFFSET, WORD_BYTES, type PTableLayout, type ResolvedLayout,
} from './ptable-layout.js';
import type { PmemRegion } from './region.js';

/** Record states the replicated store uses; the table stores any u8 and reads only Valid. */
export const RecordState = { Invalid: 0, Valid: 1, Write: 2, Replay: 3 } as const;

export interface Timestamp {
  /** u53 */
  version: number;
  /** u32: the id of the coordinator that wrote it. */
  cid: number;
}

/**
 * What a record adds to its bucket's sums while it is in the table (tables formatted with
 * `fingerprintBuckets`): a bucket that depends on the key alone, and two u32 lanes.
 */
export interface Fingerprint {
  bucket: number;
  lane0: number;
  lane1: number;
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
  /** Required by a table with fingerprint sums, refused by one without; not read back. */
  fingerprint?: Fingerprint;
}

/** A record without its value. */
export type PTableHead = Pick<PTableRecord, 'ts' | 'state' | 'origin' | 'seq'>;

export interface CorruptSlot {
  slot: number;
  offset: number;
  reason: string;
}

export interface PTableRecovery {
  records: number;
  freeSlots: number;
  /**
   * The journal's last intent: a put or delete past its commit point, redone (a no-op if it had
   * completed); a put that never committed (nothing to undo); or none (absent, or torn by a
   * crash before its operation could commit).
   */
  intent: 'put' | 'delete' | 'uncommitted' | 'none';
  /** Records not Valid, found through the bitmap. */
  notValid: number;
  /** Bitmap bits naming a Valid record or a free slot (left by a crash), cleared. */
  staleBits: number;
  /** Slots that open found failing their checks (it reads only the intent's and the bitmap's). */
  corrupt: CorruptSlot[];
}

/** The intent of a put or delete (see the journal line in ptable-layout.ts). */
interface Intent {
  op: number;
  seq: number;
  slot: number;
  prevSlot: number;
  keyHash: number;
  topAfter: number;
  countAfter: number;
  bucket: number;
  lane0: number;
  lane1: number;
}

const U32 = 2 ** 32;
const EMPTY = 0;
const INTENT_CRC_BYTES = J_CRC_OFFSET - J_INTENT_OFFSET;
const JOURNAL_COUNTERS_BYTES = J_INTENT_OFFSET;

// The bitmap and the sums are read through typed arrays over the region, whose words the
// table writes little-endian (DataView): the host must be little-endian too.
assert.equal(endianness(), 'LE', 'PTable reads its little-endian words through typed arrays');

/** The index's hash of a key: FNV-1a over its UTF-16 units, mixed; a u32. */
function keyHashOf(key: string): number {
  return fmix32(fnv1a32(key)) >>> 0;
}

export class PTable {
  readonly layout: ResolvedLayout;
  readonly recovery: PTableRecovery;
  private readonly view: Buffer;
  private readonly dv: DataView;
  private readonly meta: PMeta;
  private readonly indexMask: number;
  /** Copies of the journal's counters (the region holds them durably). */
  private top: number;
  private count: number;
  private nextCommitSeq: number;
  private readonly stateScratch = new Uint8Array(1);
  private readonly corruptSlots = new Map<number, CorruptSlot>();
  /**
   * The slots whose bits open left set, until a put or setState may set another: every
   * not-Valid record is among them meanwhile (bits only get cleared).
   */
  private bitsAtOpen: number[] | undefined;
  /** The last `probe`'s first free entry (empty or tombstone) on the key's chain, or -1. */
  private probeFree = -1;

  private constructor(private readonly region: PmemRegion, layout: ResolvedLayout) {
    this.layout = layout;
    this.view = region.view;
    this.dv = new DataView(region.view.buffer, region.view.byteOffset, region.sizeBytes);
    this.meta = new PMeta(region, layout.metaOffset, layout.metaBytes);
    this.indexMask = layout.indexEntries - 1;
    const j = layout.journalOffset;
    this.top = this.dv.getUint32(j + J_TOP_OFFSET, true);
    this.count = this.dv.getUint32(j + J_COUNT_OFFSET, true);
    if (this.top + this.count !== layout.slotCount || this.count > layout.capacity) {
      throw new CorruptionError(region.path, j, `PTable journal holds ${this.top} free slots and ${this.count} records: not ${layout.slotCount} slots (capacity ${layout.capacity})`);
    }
    const intent = this.readIntent();
    this.nextCommitSeq = Math.max(this.u53(j + J_LAST_SEQ_OFFSET), intent?.seq ?? 0) + 1;
    const redone = intent === undefined ? 'none' : this.redo(intent);
    const { notValid, staleBits } = this.cleanBitmap();
    this.recovery = { records: this.count, freeSlots: this.top, intent: redone, notValid, staleBits, corrupt: [...this.corruptSlots.values()] };
  }

  /** Region bytes a table of this layout needs. */
  static bytesFor(layout: PTableLayout): number {
    const problem = layoutProblem(layout);
    if (problem !== undefined) throw new PmemError('ERR_PMEM_ARGUMENT', 'PTable', undefined, problem);
    return resolveLayout(layout).totalBytes;
  }

  /** Erases `region` and writes an empty table of `layout` on it: every slot on the free stack. */
  static format(region: PmemRegion, layout: PTableLayout): void {
    region.assertOpen();
    const problem = layoutProblem(layout);
    if (problem !== undefined) throw new PmemError('ERR_PMEM_ARGUMENT', region.path, undefined, problem);
    const resolved = resolveLayout(layout);
    if (resolved.totalBytes > region.sizeBytes) {
      throw pmemErrors.argument(region.path, 'layout', `at most the region size (${region.sizeBytes} bytes)`, `${resolved.totalBytes} bytes (PTable.bytesFor)`);
    }
    region.view.fill(0);
    const dv = new DataView(region.view.buffer, region.view.byteOffset, region.sizeBytes);
    const { slotCount, stackOffset, journalOffset } = resolved;
    // Slot 0 on top: slots are handed out in ascending order.
    for (let i = 0; i < slotCount; i++) dv.setUint32(stackOffset + 4 * i, slotCount - 1 - i, true);
    dv.setUint32(journalOffset + J_TOP_OFFSET, slotCount, true);
    region.persist(0, region.sizeBytes);
    writeHeader(region, PTABLE_MAGIC, PTABLE_VERSION, layoutFields(resolved));
  }

  /** Opens the table on `region`, finishing the operation a crash interrupted; see `recovery`. */
  static open(region: PmemRegion): PTable {
    region.assertOpen();
    const declared = readHeader(region, PTABLE_MAGIC, PTABLE_VERSION, 'PTable');
    const [capacity, , keyMaxBytes, valueMaxBytes, , , metaBytes, fingerprintBuckets] = declared as
      [number, number, number, number, number, number, number, number];
    const given = { capacity, keyMaxBytes, valueMaxBytes, metaBytes, fingerprintBuckets };
    const problem = layoutProblem(given);
    const layout = resolveLayout(given);
    const fields = layoutFields(layout);
    if (problem !== undefined || fields.some((v, i) => v !== declared[i])) {
      throw new CorruptionError(region.path, 8, `PTable header declares an impossible layout (${problem ?? declared.slice(0, fields.length).join(',')})`);
    }
    if (layout.totalBytes > region.sizeBytes) {
      throw new CorruptionError(region.path, region.sizeBytes, `file is ${region.sizeBytes} bytes but its PTable header declares ${layout.totalBytes} (truncated?)`);
    }
    return new PTable(region, layout);
  }

  get size(): number {
    return this.count;
  }

  get capacity(): number {
    return this.layout.capacity;
  }

  has(key: string): boolean {
    this.region.assertOpen();
    return this.probe(key, keyHashOf(key)) >= 0;
  }

  /** Inserts or replaces the record of `record.key`; durable when this returns. */
  put(record: PTableRecord): void {
    this.region.assertOpen();
    const keyBytes = this.checkRecord(record);
    const keyHash = keyHashOf(record.key);
    const entry = this.probe(record.key, keyHash);
    const prevSlot = entry >= 0 ? this.entrySlot(entry) : NO_SLOT;
    if (prevSlot === NO_SLOT && this.count >= this.layout.capacity) {
      throw pmemErrors.full(this.region.path, this.layout.slotsOffset, `PTable full: ${this.count} keys, capacity ${this.layout.capacity}`);
    }
    // Every slot is free or live and capacity < slotCount: a free slot remains.
    assert.ok(this.top > 0, 'a free slot remains below capacity');
    const slot = this.stackAt(this.top - 1);
    const base = this.slotBase(slot);
    if (this.dv.getUint32(base, true) !== 0 || this.dv.getUint32(base + 4, true) !== 0) {
      throw new CorruptionError(this.region.path, base, `PTable slot ${slot} is on the free stack but its valid word is not zero`);
    }
    const seq = this.nextCommitSeq++;
    this.bitsAtOpen = undefined;
    const [bucket, lane0, lane1] = this.sumsAfterPut(record.fingerprint, prevSlot);
    const insert = prevSlot === NO_SLOT;
    const intent: Intent = {
      op: OP_PUT, seq, slot, prevSlot, keyHash, topAfter: insert ? this.top - 1 : this.top,
      countAfter: insert ? this.count + 1 : this.count, bucket, lane0, lane1,
    };
    const bodyBytes = this.writeBody(base, record, keyBytes, seq);
    this.writeIntent(intent);
    this.setBit(slot, record.state !== RecordState.Valid);
    this.region.flush(base + BODY_OFFSET, bodyBytes);
    this.region.flush(this.layout.journalOffset, LINE_BYTES);
    this.region.fence();
    this.writeWord(base, record.state, bodyBytes);
    this.region.persist(base, WORD_BYTES);
    this.applyPut(intent, entry >= 0 ? entry : this.probeFree);
  }

  /** The record of `key` (value copied), or undefined. Throws CorruptionError if it fails its checksum. */
  get(key: string): PTableRecord | undefined {
    this.region.assertOpen();
    const entry = this.probe(key, keyHashOf(key));
    return entry < 0 ? undefined : this.readSlot(this.entrySlot(entry));
  }

  /** `get` without the value. */
  head(key: string): PTableHead | undefined {
    this.region.assertOpen();
    const entry = this.probe(key, keyHashOf(key));
    if (entry < 0) return undefined;
    const slot = this.entrySlot(entry);
    const base = this.slotBase(slot);
    this.verifySlot(slot, base);
    return this.headAt(base);
  }

  /** Changes the state of `key` in place with one atomic word store; false if absent. */
  setState(key: string, state: number): boolean {
    this.region.assertOpen();
    if (!isUint(state, 0xff)) throw pmemErrors.argument(this.region.path, 'state', 'an integer in [0, 255]', state);
    const entry = this.probe(key, keyHashOf(key));
    if (entry < 0) return false;
    const slot = this.entrySlot(entry);
    const base = this.slotBase(slot);
    this.verifySlot(slot, base);
    const valid = state === RecordState.Valid;
    this.bitsAtOpen = undefined;
    if (!valid && this.setBit(slot, true)) this.region.fence();
    this.writeWord(base, state, this.bodyBytes(base));
    this.region.persist(base, WORD_BYTES);
    // Cleared only now that the word is durable; made durable by the next fence (a stale bit
    // left by a crash is harmless: open clears it).
    if (valid) this.setBit(slot, false);
    return true;
  }

  /** Removes `key`; durable when this returns. False if absent. */
  delete(key: string): boolean {
    this.region.assertOpen();
    const keyHash = keyHashOf(key);
    const entry = this.probe(key, keyHash);
    if (entry < 0) return false;
    const slot = this.entrySlot(entry);
    const [bucket, lane0, lane1] = this.sumsAfterDelete(slot);
    const intent: Intent = {
      op: OP_DELETE, seq: this.nextCommitSeq++, slot, prevSlot: NO_SLOT, keyHash, topAfter: this.top + 1,
      countAfter: this.count - 1, bucket, lane0, lane1,
    };
    this.writeIntent(intent);
    this.region.persist(this.layout.journalOffset, LINE_BYTES);
    this.applyDelete(intent, entry);
    return true;
  }

  /** Every key, in slot order (records failing their checks are skipped and reported). */
  *keys(): IterableIterator<string> {
    for (const record of this.entries()) yield record.key;
  }

  /**
   * Every record, in slot order, values copied. A record put meanwhile may or may not be
   * visited, and a key put again may be visited twice (its new slot may lie ahead).
   */
  *entries(): IterableIterator<PTableRecord> {
    const { slotCount } = this.layout;
    for (let slot = 0; slot < slotCount; slot++) {
      const base = this.slotBase(slot);
      if (this.dv.getUint32(base, true) === 0 && this.dv.getUint32(base + 4, true) === 0) continue;
      if (this.slotProblem(base) !== undefined) {
        this.reportCorrupt(slot, base);
        continue;
      }
      yield this.readSlot(slot);
    }
  }

  /**
   * The records whose fingerprint bucket is in `buckets`, in slot order, as `entries` yields
   * them; the other slots cost one word read each (their key and value are not decoded).
   */
  *entriesInBuckets(buckets: ReadonlySet<number>): IterableIterator<PTableRecord> {
    const { slotCount, fingerprintBuckets } = this.layout;
    if (fingerprintBuckets === 0) throw pmemErrors.argument(this.region.path, 'entriesInBuckets', 'a table with fingerprint sums', 'fingerprintBuckets 0');
    if (buckets.size === 0) return;
    for (let slot = 0; slot < slotCount; slot++) {
      const base = this.slotBase(slot);
      if (this.dv.getUint16(base, true) !== TAG_COMMITTED || !buckets.has(this.dv.getUint32(base + FP_BUCKET_OFFSET, true))) continue;
      if (this.slotProblem(base) !== undefined) {
        this.reportCorrupt(slot, base);
        continue;
      }
      yield this.readSlot(slot);
    }
  }

  /**
   * The records whose state is not Valid, found through the bitmap: O(slotCount / 32) words
   * plus one check per set bit (records failing their checks are skipped and reported).
   */
  notValid(): PTableRecord[] {
    const out: PTableRecord[] = [];
    const visit = (slot: number): void => {
      const base = this.slotBase(slot);
      if (slot >= this.layout.slotCount || this.dv.getUint16(base, true) !== TAG_COMMITTED || this.dv.getUint8(base + STATE_OFFSET) === RecordState.Valid) return;
      if (this.slotProblem(base) !== undefined) this.reportCorrupt(slot, base);
      else out.push(this.readSlot(slot));
    };
    // Right after open (a restart reads them then): the slots open left set, no second pass.
    if (this.bitsAtOpen !== undefined) this.bitsAtOpen.forEach(visit);
    else this.forEachBit(visit);
    return out;
  }

  /** Per bucket, the sums of its records' fingerprint lanes: `[lane0, lane1]` at `2 * bucket`. */
  fingerprintSums(): Uint32Array {
    const { fingerprintBuckets, sumsOffset } = this.layout;
    // One copy of the area (a restart reads it: no loop per word); the host is little-endian (asserted).
    return new Uint32Array(this.view.buffer, this.view.byteOffset + sumsOffset, 2 * fingerprintBuckets).slice();
  }

  /** Slots found failing their checks since the table was opened (at open, by reads, by iteration). */
  get corrupt(): CorruptSlot[] {
    return [...this.corruptSlots.values()];
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

  /**
   * A full scan (tests and tools only: it reads every slot and index entry): checks that the
   * index names exactly the committed slots, the stack exactly the free ones, and that count,
   * bitmap and fingerprint sums agree with the slots; throws AssertionError on a breach.
   * Returns the live slots that fail their checks (corruption is not a breach).
   */
  verify(): CorruptSlot[] {
    const { slotCount, indexEntries, fingerprintBuckets } = this.layout;
    const live = new Uint8Array(slotCount);
    const sums = new Uint32Array(2 * fingerprintBuckets);
    const corrupt: CorruptSlot[] = [];
    let records = 0;
    for (let e = 0; e < indexEntries; e++) {
      const raw = this.dv.getUint32(this.entryOffset(e), true);
      if (raw === EMPTY || raw === TOMBSTONE) continue;
      const slot = raw - 1;
      assert.ok(slot < slotCount, `index entry ${e} names slot ${slot} of ${slotCount}`);
      assert.equal(live[slot], 0, `slot ${slot} is named by two index entries`);
      live[slot] = 1;
      records++;
      const base = this.slotBase(slot);
      this.assertReachable(e, this.dv.getUint32(this.entryOffset(e) + 4, true));
      const problem = this.slotProblem(base);
      if (problem !== undefined) {
        corrupt.push({ slot, offset: base, reason: problem });
        continue;
      }
      assert.equal(keyHashOf(this.decodeKey(base)), this.dv.getUint32(this.entryOffset(e) + 4, true), `index entry ${e} holds another hash than its key's`);
      assert.ok(this.u53(base + COMMIT_SEQ_OFFSET) < this.nextCommitSeq, 'commit sequences only grow');
      if (this.dv.getUint8(base + STATE_OFFSET) !== RecordState.Valid) assert.ok(this.bitSet(slot), `slot ${slot} is not Valid and its bit is clear`);
      if (fingerprintBuckets > 0) {
        const bucket = this.dv.getUint32(base + FP_BUCKET_OFFSET, true);
        sums[2 * bucket] = (sums[2 * bucket] as number) + this.dv.getUint32(base + FP_LANE0_OFFSET, true);
        sums[2 * bucket + 1] = (sums[2 * bucket + 1] as number) + this.dv.getUint32(base + FP_LANE1_OFFSET, true);
      }
    }
    assert.equal(records, this.count, 'the journal counts the indexed records');
    for (let i = 0; i < this.top; i++) {
      const slot = this.stackAt(i);
      assert.ok(slot < slotCount && live[slot] === 0, `stack entry ${i} (slot ${slot}) is live, repeated or out of range`);
      live[slot] = 2;
      const base = this.slotBase(slot);
      assert.ok(this.dv.getUint32(base, true) === 0 && this.dv.getUint32(base + 4, true) === 0, `free slot ${slot} has a nonzero valid word`);
    }
    assert.equal(this.top + this.count, slotCount, 'every slot is free or live');
    assert.deepEqual(this.fingerprintSums(), sums, 'the fingerprint sums are those of the records');
    return corrupt.sort((a, b) => a.slot - b.slot);
  }

  /** `verify`, for tests that only want the invariants. */
  assertInvariants(): void {
    this.verify();
  }

  // ---- Slots ----------------------------------------------------------------------------------

  private slotBase(slot: number): number {
    return this.layout.slotsOffset + slot * this.layout.slotBytes;
  }

  private stackAt(i: number): number {
    return this.dv.getUint32(this.layout.stackOffset + 4 * i, true);
  }

  /** Validates a record at the edge; returns its key's UTF-8 length. */
  private checkRecord(r: PTableRecord): number {
    const path = this.region.path;
    if (typeof r.key !== 'string') throw pmemErrors.argument(path, 'key', 'a string', typeof r.key);
    const keyBytes = Buffer.byteLength(r.key, 'utf8');
    const { keyMaxBytes, valueMaxBytes, fingerprintBuckets } = this.layout;
    if (keyBytes === 0 || keyBytes > keyMaxBytes) throw pmemErrors.argument(path, 'key', `1 to ${keyMaxBytes} UTF-8 bytes`, `${keyBytes} bytes`);
    if (!(r.value instanceof Uint8Array) || r.value.length > valueMaxBytes) {
      throw pmemErrors.argument(path, 'value', `a Uint8Array of at most ${valueMaxBytes} bytes`, r.value?.length);
    }
    if (!isUint(r.ts?.version, Number.MAX_SAFE_INTEGER)) throw pmemErrors.argument(path, 'ts.version', 'a safe integer >= 0', r.ts?.version);
    if (!isUint(r.ts.cid, U32 - 1)) throw pmemErrors.argument(path, 'ts.cid', 'an integer in [0, 2^32)', r.ts.cid);
    if (!isUint(r.state, 0xff)) throw pmemErrors.argument(path, 'state', 'an integer in [0, 255]', r.state);
    if (!isUint(r.origin, 0xffff)) throw pmemErrors.argument(path, 'origin', 'an integer in [0, 65535]', r.origin);
    if (!isUint(r.seq, Number.MAX_SAFE_INTEGER)) throw pmemErrors.argument(path, 'seq', 'a safe integer >= 0', r.seq);
    const fp = r.fingerprint;
    if (fingerprintBuckets === 0) {
      if (fp !== undefined) throw pmemErrors.argument(path, 'fingerprint', 'absent (the table keeps no fingerprint sums)', JSON.stringify(fp));
    } else if (fp === undefined) {
      throw pmemErrors.argument(path, 'fingerprint', `present (the table keeps sums in ${fingerprintBuckets} buckets)`, fp);
    } else {
      if (!isUint(fp.bucket, fingerprintBuckets - 1)) throw pmemErrors.argument(path, 'fingerprint.bucket', `an integer in [0, ${fingerprintBuckets})`, fp.bucket);
      if (!isUint(fp.lane0, U32 - 1)) throw pmemErrors.argument(path, 'fingerprint.lane0', 'an integer in [0, 2^32)', fp.lane0);
      if (!isUint(fp.lane1, U32 - 1)) throw pmemErrors.argument(path, 'fingerprint.lane1', 'an integer in [0, 2^32)', fp.lane1);
    }
    return keyBytes;
  }

  /** Writes the body of `r` at slot `base`; returns its length from BODY_OFFSET. */
  private writeBody(base: number, r: PTableRecord, keyBytes: number, commitSeq: number): number {
    const dv = this.dv;
    this.setU53(base + COMMIT_SEQ_OFFSET, commitSeq);
    this.setU53(base + VERSION_OFFSET, r.ts.version);
    dv.setUint32(base + CID_OFFSET, r.ts.cid, true);
    dv.setUint16(base + ORIGIN_OFFSET, r.origin, true);
    dv.setUint16(base + KEY_BYTES_OFFSET, keyBytes, true);
    this.setU53(base + SEQ_OFFSET, r.seq);
    dv.setUint32(base + VALUE_BYTES_OFFSET, r.value.length, true);
    dv.setUint32(base + FP_BUCKET_OFFSET, r.fingerprint?.bucket ?? 0, true);
    dv.setUint32(base + FP_LANE0_OFFSET, r.fingerprint?.lane0 ?? 0, true);
    dv.setUint32(base + FP_LANE1_OFFSET, r.fingerprint?.lane1 ?? 0, true);
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

  /** Zeroes a slot's valid word (it is free from the next fence on) and flushes it. */
  private zeroWord(slot: number): void {
    const base = this.slotBase(slot);
    this.dv.setUint32(base, 0, true);
    this.dv.setUint32(base + 4, 0, true);
    this.region.flush(base, WORD_BYTES);
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
    if (this.layout.fingerprintBuckets > 0 && dv.getUint32(base + FP_BUCKET_OFFSET, true) >= this.layout.fingerprintBuckets) {
      return 'fingerprint bucket out of range';
    }
    return undefined;
  }

  /** Records the slot as corrupt (once) and returns the error that reports it. */
  private reportCorrupt(slot: number, base: number): CorruptionError {
    const reason = this.slotProblem(base) ?? 'failed a check';
    if (!this.corruptSlots.has(slot)) this.corruptSlots.set(slot, { slot, offset: base, reason });
    return new CorruptionError(this.region.path, base, `PTable slot ${slot}: ${reason}`);
  }

  private verifySlot(slot: number, base: number): void {
    if (this.slotProblem(base) !== undefined) throw this.reportCorrupt(slot, base);
  }

  private headAt(base: number): PTableHead {
    const dv = this.dv;
    return {
      ts: { version: this.u53(base + VERSION_OFFSET), cid: dv.getUint32(base + CID_OFFSET, true) },
      state: dv.getUint8(base + STATE_OFFSET),
      origin: dv.getUint16(base + ORIGIN_OFFSET, true),
      seq: this.u53(base + SEQ_OFFSET),
    };
  }

  private readSlot(slot: number): PTableRecord {
    const base = this.slotBase(slot);
    this.verifySlot(slot, base);
    const keyBytes = this.dv.getUint16(base + KEY_BYTES_OFFSET, true);
    const valueStart = base + KEY_OFFSET + keyBytes;
    const head = this.headAt(base);
    return {
      key: this.decodeKey(base), ts: head.ts,
      value: Buffer.from(this.view.subarray(valueStart, valueStart + this.dv.getUint32(base + VALUE_BYTES_OFFSET, true))),
      state: head.state, origin: head.origin, seq: head.seq,
    };
  }

  private decodeKey(base: number): string {
    const start = base + KEY_OFFSET;
    return this.view.toString('utf8', start, start + this.dv.getUint16(base + KEY_BYTES_OFFSET, true));
  }

  /** Whether the slot at `base` holds `key` (its bytes; the checksum is not checked here). */
  private keyEquals(base: number, key: string): boolean {
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

  private u53(offset: number): number {
    return this.dv.getUint32(offset, true) + this.dv.getUint32(offset + 4, true) * U32;
  }

  private setU53(offset: number, v: number): void {
    this.dv.setUint32(offset, v % U32, true);
    this.dv.setUint32(offset + 4, Math.floor(v / U32), true);
  }

  // ---- The key index ----------------------------------------------------------------------------

  private entryOffset(entry: number): number {
    return this.layout.indexOffset + entry * INDEX_ENTRY_BYTES;
  }

  private entrySlot(entry: number): number {
    return this.dv.getUint32(this.entryOffset(entry), true) - 1;
  }

  /** Stores an index entry (both halves before the next fence: it lands whole) and flushes it. */
  private writeEntry(entry: number, slotPlus1: number, keyHash: number): void {
    const at = this.entryOffset(entry);
    this.dv.setUint32(at + 4, keyHash, true);
    this.dv.setUint32(at, slotPlus1, true);
    this.region.flush(at, INDEX_ENTRY_BYTES);
  }

  /**
   * The entry of `key` on the chain of `keyHash`, or -1; sets `probeFree` to the first empty or
   * tombstone entry on the chain (where an insert of the key goes).
   */
  private probe(key: string, keyHash: number): number {
    const { indexEntries } = this.layout;
    this.probeFree = -1;
    let entry = keyHash & this.indexMask;
    for (let n = 0; n < indexEntries; n++, entry = (entry + 1) & this.indexMask) {
      const at = this.entryOffset(entry);
      const raw = this.dv.getUint32(at, true);
      if (raw === EMPTY) {
        if (this.probeFree < 0) this.probeFree = entry;
        return -1;
      }
      if (raw === TOMBSTONE) {
        if (this.probeFree < 0) this.probeFree = entry;
      } else if (this.dv.getUint32(at + 4, true) === keyHash && this.keyEquals(this.slotBase(raw - 1), key)) {
        return entry;
      }
    }
    return -1;
  }

  /** The entry on `keyHash`'s chain that names one of `slots`, or -1; `probeFree` as in `probe`. */
  private findSlotEntry(keyHash: number, slotA: number, slotB: number): number {
    const { indexEntries } = this.layout;
    this.probeFree = -1;
    let entry = keyHash & this.indexMask;
    for (let n = 0; n < indexEntries; n++, entry = (entry + 1) & this.indexMask) {
      const at = this.entryOffset(entry);
      const raw = this.dv.getUint32(at, true);
      if (raw === EMPTY || raw === TOMBSTONE) {
        if (this.probeFree < 0) this.probeFree = entry;
        if (raw === EMPTY) return -1;
      } else if (this.dv.getUint32(at + 4, true) === keyHash && (raw - 1 === slotA || raw - 1 === slotB)) {
        return entry;
      }
    }
    return -1;
  }

  /** verify(): entry `e` is found from its hash's home without crossing an empty entry. */
  private assertReachable(e: number, keyHash: number): void {
    for (let entry = keyHash & this.indexMask; entry !== e; entry = (entry + 1) & this.indexMask) {
      assert.notEqual(this.dv.getUint32(this.entryOffset(entry), true), EMPTY, `index entry ${e} is cut off from its home by an empty entry`);
    }
  }

  // ---- The journal and the last step of put and delete ------------------------------------------

  private writeIntent(i: Intent): void {
    const j = this.layout.journalOffset;
    const dv = this.dv;
    this.setU53(j + J_SEQ_OFFSET, i.seq);
    dv.setUint32(j + J_OP_OFFSET, i.op, true);
    dv.setUint32(j + J_SLOT_OFFSET, i.slot, true);
    dv.setUint32(j + J_PREV_SLOT_OFFSET, i.prevSlot, true);
    dv.setUint32(j + J_KEY_HASH_OFFSET, i.keyHash, true);
    dv.setUint32(j + J_TOP_AFTER_OFFSET, i.topAfter, true);
    dv.setUint32(j + J_COUNT_AFTER_OFFSET, i.countAfter, true);
    dv.setUint32(j + J_BUCKET_OFFSET, i.bucket, true);
    dv.setUint32(j + J_LANE0_OFFSET, i.lane0, true);
    dv.setUint32(j + J_LANE1_OFFSET, i.lane1, true);
    dv.setUint32(j + J_CRC_OFFSET, crc32cUpdate(0, this.view, j + J_INTENT_OFFSET, INTENT_CRC_BYTES), true);
  }

  /** The journal's intent if it is whole and names a possible operation; undefined if none or torn. */
  private readIntent(): Intent | undefined {
    const j = this.layout.journalOffset;
    const dv = this.dv;
    const seq = this.u53(j + J_SEQ_OFFSET);
    if (seq === 0 || dv.getUint32(j + J_CRC_OFFSET, true) !== crc32cUpdate(0, this.view, j + J_INTENT_OFFSET, INTENT_CRC_BYTES)) {
      return undefined;
    }
    const i: Intent = {
      op: dv.getUint32(j + J_OP_OFFSET, true), seq, slot: dv.getUint32(j + J_SLOT_OFFSET, true),
      prevSlot: dv.getUint32(j + J_PREV_SLOT_OFFSET, true), keyHash: dv.getUint32(j + J_KEY_HASH_OFFSET, true),
      topAfter: dv.getUint32(j + J_TOP_AFTER_OFFSET, true), countAfter: dv.getUint32(j + J_COUNT_AFTER_OFFSET, true),
      bucket: dv.getUint32(j + J_BUCKET_OFFSET, true), lane0: dv.getUint32(j + J_LANE0_OFFSET, true),
      lane1: dv.getUint32(j + J_LANE1_OFFSET, true),
    };
    const { slotCount, capacity, fingerprintBuckets } = this.layout;
    const problem = i.op !== OP_PUT && i.op !== OP_DELETE ? `op ${i.op}`
      : i.slot >= slotCount ? `slot ${i.slot}`
        : i.prevSlot !== NO_SLOT && (i.prevSlot >= slotCount || i.op === OP_DELETE) ? `prevSlot ${i.prevSlot}`
          : i.countAfter > capacity || i.topAfter + i.countAfter !== slotCount ? `topAfter ${i.topAfter}, countAfter ${i.countAfter}`
            : i.bucket >= Math.max(fingerprintBuckets, 1) ? `bucket ${i.bucket}` : undefined;
    if (problem !== undefined) throw new CorruptionError(this.region.path, j + J_INTENT_OFFSET, `PTable journal intent (checksum correct) names an impossible ${problem}`);
    return i;
  }

  /** Finishes the intent a crash may have interrupted (see the file comment). */
  private redo(i: Intent): PTableRecovery['intent'] {
    if (i.op === OP_DELETE) {
      this.applyDelete(i, -1);
      return 'delete';
    }
    const base = this.slotBase(i.slot);
    if (this.dv.getUint16(base, true) !== TAG_COMMITTED || this.u53(base + COMMIT_SEQ_OFFSET) !== i.seq) return 'uncommitted';
    if (this.slotProblem(base) !== undefined) this.reportCorrupt(i.slot, base);
    this.applyPut(i, -1);
    return 'put';
  }

  /** A put's P3 (also its redo); `entry`: K's entry or where it goes, -1 to search. */
  private applyPut(i: Intent, entry: number): void {
    const at = entry >= 0 ? entry : this.findSlotEntry(i.keyHash, i.slot, i.prevSlot);
    const target = at >= 0 ? at : this.probeFree;
    assert.ok(target >= 0, 'the index always has a free entry on a chain (it has twice as many entries as slots)');
    this.writeEntry(target, i.slot + 1, i.keyHash);
    if (i.prevSlot !== NO_SLOT) {
      this.zeroWord(i.prevSlot);
      this.setBit(i.prevSlot, false);
      this.setStackEntry(i.topAfter - 1, i.prevSlot);
    }
    this.finishIntent(i);
  }

  /** A delete's P2 (also its redo); `entry`: K's entry, -1 to search. */
  private applyDelete(i: Intent, entry: number): void {
    const at = entry >= 0 ? entry : this.findSlotEntry(i.keyHash, i.slot, i.slot);
    if (at >= 0) this.writeEntry(at, TOMBSTONE, i.keyHash);
    this.zeroWord(i.slot);
    this.setBit(i.slot, false);
    this.setStackEntry(i.topAfter - 1, i.slot);
    this.finishIntent(i);
  }

  private setStackEntry(i: number, slot: number): void {
    const at = this.layout.stackOffset + 4 * i;
    this.dv.setUint32(at, slot, true);
    this.region.flush(at, 4);
  }

  /** The counters and the bucket's sums take the intent's values; then the fence. */
  private finishIntent(i: Intent): void {
    const j = this.layout.journalOffset;
    this.dv.setUint32(j + J_TOP_OFFSET, i.topAfter, true);
    this.dv.setUint32(j + J_COUNT_OFFSET, i.countAfter, true);
    this.setU53(j + J_LAST_SEQ_OFFSET, i.seq);
    this.region.flush(j, JOURNAL_COUNTERS_BYTES);
    if (this.layout.fingerprintBuckets > 0) {
      const at = this.layout.sumsOffset + i.bucket * FP_SUM_BYTES;
      this.dv.setUint32(at, i.lane0, true);
      this.dv.setUint32(at + 4, i.lane1, true);
      this.region.flush(at, FP_SUM_BYTES);
    }
    this.region.fence();
    this.top = i.topAfter;
    this.count = i.countAfter;
  }

  // ---- Fingerprint sums -----------------------------------------------------------------------

  /** [bucket, lane0, lane1] of the bucket's sums after a put of `fp` replacing `prevSlot`'s record. */
  private sumsAfterPut(fp: Fingerprint | undefined, prevSlot: number): [number, number, number] {
    if (fp === undefined) return [0, 0, 0];
    const at = this.layout.sumsOffset + fp.bucket * FP_SUM_BYTES;
    let lane0 = this.dv.getUint32(at, true) + fp.lane0;
    let lane1 = this.dv.getUint32(at + 4, true) + fp.lane1;
    if (prevSlot !== NO_SLOT) {
      const base = this.slotBase(prevSlot);
      // The sums lose what the old version added: it must be intact to say what that was.
      this.verifySlot(prevSlot, base);
      const bucket = this.dv.getUint32(base + FP_BUCKET_OFFSET, true);
      if (bucket !== fp.bucket) throw pmemErrors.argument(this.region.path, 'fingerprint.bucket', `${bucket}, the bucket of the key's current record (a key's bucket never changes)`, fp.bucket);
      lane0 -= this.dv.getUint32(base + FP_LANE0_OFFSET, true);
      lane1 -= this.dv.getUint32(base + FP_LANE1_OFFSET, true);
    }
    return [fp.bucket, lane0 >>> 0, lane1 >>> 0];
  }

  /** [bucket, lane0, lane1] of the bucket's sums after deleting `slot`'s record. */
  private sumsAfterDelete(slot: number): [number, number, number] {
    if (this.layout.fingerprintBuckets === 0) return [0, 0, 0];
    const base = this.slotBase(slot);
    this.verifySlot(slot, base);
    const bucket = this.dv.getUint32(base + FP_BUCKET_OFFSET, true);
    const at = this.layout.sumsOffset + bucket * FP_SUM_BYTES;
    const lane0 = this.dv.getUint32(at, true) - this.dv.getUint32(base + FP_LANE0_OFFSET, true);
    const lane1 = this.dv.getUint32(at + 4, true) - this.dv.getUint32(base + FP_LANE1_OFFSET, true);
    return [bucket, lane0 >>> 0, lane1 >>> 0];
  }

  // ---- The not-Valid bitmap ---------------------------------------------------------------------

  private bitSet(slot: number): boolean {
    return (this.dv.getUint32(this.layout.bitmapOffset + 4 * (slot >>> 5), true) & (1 << (slot & 31))) !== 0;
  }

  /** Sets or clears the slot's bit; flushes and returns true if it changed. */
  private setBit(slot: number, on: boolean): boolean {
    const at = this.layout.bitmapOffset + 4 * (slot >>> 5);
    const word = this.dv.getUint32(at, true);
    const bit = 1 << (slot & 31);
    if (((word & bit) !== 0) === on) return false;
    this.dv.setUint32(at, on ? word | bit : word & ~bit, true);
    this.region.flush(at, 4);
    return true;
  }

  /** Calls `f` with every slot whose bit is set, in slot order. */
  private forEachBit(f: (slot: number) => void): void {
    const { bitmapOffset, slotCount } = this.layout;
    const words = Math.ceil(slotCount / 32);
    const bits = new Int32Array(this.view.buffer, this.view.byteOffset + bitmapOffset, words);
    for (let w = 0; w < words; w++) {
      let word = bits[w] as number;
      while (word !== 0) {
        const low = word & -word;
        f(32 * w + 31 - Math.clz32(low));
        word ^= low;
      }
    }
  }

  /** open: counts the not-Valid records and clears the bits that name none. */
  private cleanBitmap(): { notValid: number; staleBits: number } {
    let notValid = 0;
    const stale: number[] = [];
    const kept: number[] = [];
    this.forEachBit((slot) => {
      const base = this.slotBase(slot);
      const committed = slot < this.layout.slotCount && this.dv.getUint16(base, true) === TAG_COMMITTED;
      if (!committed || this.dv.getUint8(base + STATE_OFFSET) === RecordState.Valid) {
        stale.push(slot);
        return;
      }
      kept.push(slot);
      if (this.slotProblem(base) !== undefined) this.reportCorrupt(slot, base);
      else notValid++;
    });
    for (const slot of stale) this.setBit(slot, false);
    if (stale.length > 0) this.region.fence();
    this.bitsAtOpen = kept;
    return { notValid, staleBits: stale.length };
  }
}

function isUint(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}
