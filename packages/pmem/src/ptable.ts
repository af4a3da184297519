/**
 * `PTable`: a fixed-capacity table of versioned records `(key, ts, value, state, origin, seq)` on
 * a region, and a small atomically updated metadata area (`writeMeta`/`readMeta`). The table is
 * the store, not a copy of it (ARCHITECTURE.md §5 Durability): its key index, its free slots, its record
 * count, a bitmap of the records that may not be Valid and (optionally) per-bucket sums of the
 * records' fingerprints live in the region (layout in ptable-layout.ts). So `open` costs
 * O(metadata): the header, the metadata area, one journal line and the bitmap, never a slot.
 * Its parts: the slots and free stack (ptable-slots.ts), the key index (ptable-index.ts), the
 * not-Valid bitmap (ptable-bitmap.ts), the fingerprint sums (ptable-sums.ts) and the journal
 * (ptable-journal.ts), which also argues crash consistency and redoes at `open`.
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
 * A record that fails its checksum (media corruption, never a crash) is never returned: `get`
 * throws CorruptionError, iteration skips it, and either reports it in `corrupt`.
 *
 * Owned by one thread, like its region. Bounds: `capacity` keys, `capacity + SPARE_SLOTS` slots;
 * a probe visits at most `indexEntries` entries.
 */
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { CorruptionError, PmemError, pmemErrors } from './errors.js';
import { LINE_BYTES } from './geometry.js';
import { readHeader, writeHeader } from './header.js';
import { PMeta, type MetaValue } from './meta.js';
import { NotValidBitmap } from './ptable-bitmap.js';
import { KeyIndex, keyHashOf } from './ptable-index.js';
import { Journal, type Intent, type JournalRedo } from './ptable-journal.js';
import {
  BODY_OFFSET,
  J_TOP_OFFSET,
  layoutFields,
  layoutProblem,
  NO_SLOT,
  OP_DELETE,
  OP_PUT,
  PTABLE_MAGIC,
  PTABLE_VERSION,
  resolveLayout,
  WORD_BYTES,
  type PTableLayout,
  type ResolvedLayout,
} from './ptable-layout.js';
import {
  checkRecord,
  isUint,
  RecordState,
  type PTableHead,
  type PTableRecord,
  type PTableWrite,
} from './ptable-record.js';
import { Slots, type CorruptSlot } from './ptable-slots.js';
import { FingerprintSums } from './ptable-sums.js';
import { verifyTable } from './ptable-verify.js';
import type { PmemRegion } from './region.js';

export interface PTableRecovery {
  records: number;
  freeSlots: number;
  /** The journal's last intent: see JournalRedo. */
  intent: JournalRedo;
  /** Records not Valid, found through the bitmap. */
  notValid: number;
  /** Bitmap bits naming a Valid record or a free slot (left by a crash), cleared. */
  staleBits: number;
  /** Slots that open found failing their checks (it reads only the intent's and the bitmap's). */
  corrupt: CorruptSlot[];
}

// The bitmap and the sums are read through typed arrays over the region, whose words the
// table writes little-endian (DataView): the host must be little-endian too.
assert.equal(endianness(), 'LE', 'PTable reads its little-endian words through typed arrays');

export class PTable {
  readonly layout: ResolvedLayout;
  readonly recovery: PTableRecovery;
  private readonly meta: PMeta;
  private readonly slots: Slots;
  private readonly index: KeyIndex;
  private readonly bitmap: NotValidBitmap;
  private readonly sums: FingerprintSums;
  private readonly journal: Journal;
  /**
   * The slots whose bits open left set, until a put or setState may set another: every
   * not-Valid record is among them meanwhile (bits only get cleared).
   */
  private bitsAtOpen: number[] | undefined;

  private constructor(
    private readonly region: PmemRegion,
    layout: ResolvedLayout,
  ) {
    this.layout = layout;
    this.meta = new PMeta(region, layout.metaOffset, layout.metaBytes);
    this.slots = new Slots(region, layout);
    this.index = new KeyIndex(region, layout, this.slots);
    this.bitmap = new NotValidBitmap(region, layout);
    this.sums = new FingerprintSums(region, layout, this.slots);
    this.journal = new Journal(region, layout, this.slots, this.index, this.bitmap, this.sums);
    const { notValid, staleBits, kept } = this.bitmap.clean(this.slots);
    this.bitsAtOpen = kept;
    const { count, top, redone } = this.journal;
    this.recovery = {
      records: count,
      freeSlots: top,
      intent: redone,
      notValid,
      staleBits,
      corrupt: this.slots.corrupt,
    };
  }

  /** Region bytes a table of this layout needs. */
  static bytesFor(layout: PTableLayout): number {
    const problem = layoutProblem(layout);
    if (problem !== undefined)
      throw new PmemError('ERR_PMEM_ARGUMENT', 'PTable', undefined, problem);
    return resolveLayout(layout).totalBytes;
  }

  /** Erases `region` and writes an empty table of `layout` on it: every slot on the free stack. */
  static format(region: PmemRegion, layout: PTableLayout): void {
    region.assertOpen();
    const problem = layoutProblem(layout);
    if (problem !== undefined)
      throw new PmemError('ERR_PMEM_ARGUMENT', region.path, undefined, problem);
    const resolved = resolveLayout(layout);
    if (resolved.totalBytes > region.sizeBytes) {
      throw pmemErrors.argument(
        region.path,
        'layout',
        `at most the region size (${region.sizeBytes} bytes)`,
        `${resolved.totalBytes} bytes (PTable.bytesFor)`,
      );
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
    const [capacity, , keyMaxBytes, valueMaxBytes, , , metaBytes, fingerprintBuckets] =
      declared as [number, number, number, number, number, number, number, number];
    const given = { capacity, keyMaxBytes, valueMaxBytes, metaBytes, fingerprintBuckets };
    const problem = layoutProblem(given);
    const layout = resolveLayout(given);
    const fields = layoutFields(layout);
    if (problem !== undefined || fields.some((v, i) => v !== declared[i])) {
      throw new CorruptionError(
        region.path,
        8,
        `PTable header declares an impossible layout (${problem ?? declared.slice(0, fields.length).join(',')})`,
      );
    }
    if (layout.totalBytes > region.sizeBytes) {
      throw new CorruptionError(
        region.path,
        region.sizeBytes,
        `file is ${region.sizeBytes} bytes but its PTable header declares ${layout.totalBytes} (truncated?)`,
      );
    }
    return new PTable(region, layout);
  }

  get size(): number {
    return this.journal.count;
  }

  get capacity(): number {
    return this.layout.capacity;
  }

  has(key: string): boolean {
    this.region.assertOpen();
    return this.index.probe(key, keyHashOf(key)) >= 0;
  }

  /** Inserts or replaces the record of `record.key`; durable when this returns. */
  put(record: PTableWrite): void {
    this.region.assertOpen();
    const keyBytes = checkRecord(this.region.path, this.layout, record);
    const keyHash = keyHashOf(record.key);
    const entry = this.index.probe(record.key, keyHash);
    const prevSlot = entry >= 0 ? this.index.slot(entry) : NO_SLOT;
    const { top, count } = this.journal;
    if (prevSlot === NO_SLOT && count >= this.layout.capacity) {
      throw pmemErrors.full(
        this.region.path,
        this.layout.slotsOffset,
        `PTable full: ${count} keys, capacity ${this.layout.capacity}`,
      );
    }
    // Every slot is free or live and capacity < slotCount: a free slot remains.
    assert.ok(top > 0, 'a free slot remains below capacity');
    const slot = this.slots.stackAt(top - 1);
    const base = this.slots.base(slot);
    if (!this.slots.wordIsZero(base)) {
      throw new CorruptionError(
        this.region.path,
        base,
        `PTable slot ${slot} is on the free stack but its valid word is not zero`,
      );
    }
    const seq = this.journal.nextCommitSeq++;
    this.bitsAtOpen = undefined;
    const [bucket, lane0, lane1] = this.sums.afterPut(record.fingerprint, prevSlot);
    const insert = prevSlot === NO_SLOT;
    const intent: Intent = {
      op: OP_PUT,
      seq,
      slot,
      prevSlot,
      keyHash,
      topAfter: insert ? top - 1 : top,
      countAfter: insert ? count + 1 : count,
      bucket,
      lane0,
      lane1,
    };
    const bodyBytes = this.slots.writeBody(base, record, keyBytes, seq);
    this.journal.writeIntent(intent);
    this.bitmap.set(slot, record.state !== RecordState.Valid);
    this.region.flush(base + BODY_OFFSET, bodyBytes);
    this.region.flush(this.layout.journalOffset, LINE_BYTES);
    this.region.fence();
    this.slots.writeWord(base, record.state, bodyBytes);
    this.region.persist(base, WORD_BYTES);
    this.journal.applyPut(intent, entry >= 0 ? entry : this.index.probeFree);
  }

  /** The record of `key` (value copied), or undefined. Throws CorruptionError if it fails its checksum. */
  get(key: string): PTableRecord | undefined {
    this.region.assertOpen();
    const entry = this.index.probe(key, keyHashOf(key));
    return entry < 0 ? undefined : this.slots.read(this.index.slot(entry));
  }

  /** `get` without the value. */
  head(key: string): PTableHead | undefined {
    this.region.assertOpen();
    const entry = this.index.probe(key, keyHashOf(key));
    if (entry < 0) return undefined;
    const slot = this.index.slot(entry);
    const base = this.slots.base(slot);
    this.slots.verify(slot, base);
    return this.slots.head(base);
  }

  /** Changes the state of `key` in place with one atomic word store; false if absent. */
  setState(key: string, state: number): boolean {
    this.region.assertOpen();
    if (!isUint(state, 0xff))
      throw pmemErrors.argument(this.region.path, 'state', 'an integer in [0, 255]', state);
    const entry = this.index.probe(key, keyHashOf(key));
    if (entry < 0) return false;
    const slot = this.index.slot(entry);
    const base = this.slots.base(slot);
    this.slots.verify(slot, base);
    const valid = state === RecordState.Valid;
    this.bitsAtOpen = undefined;
    if (!valid && this.bitmap.set(slot, true)) this.region.fence();
    this.slots.writeWord(base, state, this.slots.bodyBytes(base));
    this.region.persist(base, WORD_BYTES);
    // Cleared only now that the word is durable; made durable by the next fence (a stale bit
    // left by a crash is harmless: open clears it).
    if (valid) this.bitmap.set(slot, false);
    return true;
  }

  /** Removes `key`; durable when this returns. False if absent. */
  delete(key: string): boolean {
    this.region.assertOpen();
    const keyHash = keyHashOf(key);
    const entry = this.index.probe(key, keyHash);
    if (entry < 0) return false;
    const slot = this.index.slot(entry);
    const [bucket, lane0, lane1] = this.sums.afterDelete(slot);
    const { top, count } = this.journal;
    const intent: Intent = {
      op: OP_DELETE,
      seq: this.journal.nextCommitSeq++,
      slot,
      prevSlot: NO_SLOT,
      keyHash,
      topAfter: top + 1,
      countAfter: count - 1,
      bucket,
      lane0,
      lane1,
    };
    this.journal.writeIntent(intent);
    this.region.persist(this.layout.journalOffset, LINE_BYTES);
    this.journal.applyDelete(intent, entry);
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
      const base = this.slots.base(slot);
      if (this.slots.wordIsZero(base)) continue;
      if (this.slots.problem(base) !== undefined) {
        this.slots.reportCorrupt(slot, base);
        continue;
      }
      yield this.slots.read(slot);
    }
  }

  /**
   * The records whose fingerprint bucket is in `buckets`, in slot order, as `entries` yields
   * them; the other slots cost one word read each (their key and value are not decoded).
   */
  *entriesInBuckets(buckets: ReadonlySet<number>): IterableIterator<PTableRecord> {
    const { slotCount, fingerprintBuckets } = this.layout;
    if (fingerprintBuckets === 0)
      throw pmemErrors.argument(
        this.region.path,
        'entriesInBuckets',
        'a table with fingerprint sums',
        'fingerprintBuckets 0',
      );
    if (buckets.size === 0) return;
    for (let slot = 0; slot < slotCount; slot++) {
      const base = this.slots.base(slot);
      if (!this.slots.isCommitted(base) || !buckets.has(this.slots.bucket(base))) continue;
      if (this.slots.problem(base) !== undefined) {
        this.slots.reportCorrupt(slot, base);
        continue;
      }
      yield this.slots.read(slot);
    }
  }

  /**
   * The records whose state is not Valid, found through the bitmap: O(slotCount / 32) words
   * plus one check per set bit (records failing their checks are skipped and reported).
   */
  notValid(): PTableRecord[] {
    const out: PTableRecord[] = [];
    const visit = (slot: number): void => {
      const base = this.slots.base(slot);
      if (
        slot >= this.layout.slotCount ||
        !this.slots.isCommitted(base) ||
        this.slots.state(base) === RecordState.Valid
      )
        return;
      if (this.slots.problem(base) !== undefined) this.slots.reportCorrupt(slot, base);
      else out.push(this.slots.read(slot));
    };
    // Right after open (a restart reads them then): the slots open left set, no second pass.
    if (this.bitsAtOpen !== undefined) this.bitsAtOpen.forEach(visit);
    else this.bitmap.forEach(visit);
    return out;
  }

  /** Per bucket, the sums of its records' fingerprint lanes: `[lane0, lane1]` at `2 * bucket`. */
  fingerprintSums(): Uint32Array {
    return this.sums.copy();
  }

  /** Slots found failing their checks since the table was opened (at open, by reads, by iteration). */
  get corrupt(): CorruptSlot[] {
    return this.slots.corrupt;
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
    const { layout, slots, index, bitmap, sums, journal } = this;
    return verifyTable({ layout, slots, index, bitmap, sums, journal });
  }

  /** `verify`, for tests that only want the invariants. */
  assertInvariants(): void {
    this.verify();
  }
}
