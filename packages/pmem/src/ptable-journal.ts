/**
 * A PTable's journal line (layout in ptable-layout.ts): the counters (free slots, records, the
 * last finished commit sequence) and the intent of the last put or delete, the last step of
 * either (a put's P3, a delete's P2; the steps in ptable.ts) and its redo at `open`.
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
 *   left the old or the new word. The not-Valid bits: see ptable-bitmap.ts.
 * - `open` repairs in bounded work: one redo (a probe chain, a few lines) and one pass over the
 *   bitmap (slotCount / 32 words plus one check per set bit).
 */
import assert from 'node:assert/strict';
import { crc32cUpdate } from './checksum.js';
import { CorruptionError } from './errors.js';
import type { NotValidBitmap } from './ptable-bitmap.js';
import type { KeyIndex } from './ptable-index.js';
import {
  J_BUCKET_OFFSET,
  J_COUNT_AFTER_OFFSET,
  J_COUNT_OFFSET,
  J_CRC_OFFSET,
  J_INTENT_OFFSET,
  J_KEY_HASH_OFFSET,
  J_LANE0_OFFSET,
  J_LANE1_OFFSET,
  J_LAST_SEQ_OFFSET,
  J_OP_OFFSET,
  J_PREV_SLOT_OFFSET,
  J_SEQ_OFFSET,
  J_SLOT_OFFSET,
  J_TOP_AFTER_OFFSET,
  J_TOP_OFFSET,
  NO_SLOT,
  OP_DELETE,
  OP_PUT,
  readU53,
  TOMBSTONE,
  writeU53,
  type ResolvedLayout,
} from './ptable-layout.js';
import type { Slots } from './ptable-slots.js';
import type { FingerprintSums } from './ptable-sums.js';
import type { PmemRegion } from './region.js';

/** The intent of a put or delete (see the journal line in ptable-layout.ts). */
export interface Intent {
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

/**
 * What open found in the journal: a put or delete past its commit point, redone (a no-op if it
 * had completed); a put that never committed (nothing to undo); or none (absent, or torn by a
 * crash before its operation could commit).
 */
export type JournalRedo = 'put' | 'delete' | 'uncommitted' | 'none';

const INTENT_CRC_BYTES = J_CRC_OFFSET - J_INTENT_OFFSET;
const JOURNAL_COUNTERS_BYTES = J_INTENT_OFFSET;

export class Journal {
  /** Copies of the journal's counters (the region holds them durably). */
  top: number;
  count: number;
  /** The commit sequence of the next put or delete. */
  nextCommitSeq: number;
  /** What the constructor (at open) found and redid. */
  readonly redone: JournalRedo;
  private readonly view: Buffer;
  private readonly dv: DataView;
  private readonly offset: number;

  /** Reads the counters and finishes the operation a crash interrupted. */
  constructor(
    private readonly region: PmemRegion,
    private readonly layout: ResolvedLayout,
    private readonly slots: Slots,
    private readonly index: KeyIndex,
    private readonly bitmap: NotValidBitmap,
    private readonly sums: FingerprintSums,
  ) {
    this.view = region.view;
    this.dv = new DataView(region.view.buffer, region.view.byteOffset, region.sizeBytes);
    const j = (this.offset = layout.journalOffset);
    this.top = this.dv.getUint32(j + J_TOP_OFFSET, true);
    this.count = this.dv.getUint32(j + J_COUNT_OFFSET, true);
    if (this.top + this.count !== layout.slotCount || this.count > layout.capacity) {
      throw new CorruptionError(
        region.path,
        j,
        `PTable journal holds ${this.top} free slots and ${this.count} records: not ${layout.slotCount} slots (capacity ${layout.capacity})`,
      );
    }
    const intent = this.readIntent();
    this.nextCommitSeq = Math.max(readU53(this.dv, j + J_LAST_SEQ_OFFSET), intent?.seq ?? 0) + 1;
    this.redone = intent === undefined ? 'none' : this.redo(intent);
  }

  /** Writes the intent (P1 flushes and fences it). */
  writeIntent(i: Intent): void {
    const j = this.offset;
    const dv = this.dv;
    writeU53(dv, j + J_SEQ_OFFSET, i.seq);
    dv.setUint32(j + J_OP_OFFSET, i.op, true);
    dv.setUint32(j + J_SLOT_OFFSET, i.slot, true);
    dv.setUint32(j + J_PREV_SLOT_OFFSET, i.prevSlot, true);
    dv.setUint32(j + J_KEY_HASH_OFFSET, i.keyHash, true);
    dv.setUint32(j + J_TOP_AFTER_OFFSET, i.topAfter, true);
    dv.setUint32(j + J_COUNT_AFTER_OFFSET, i.countAfter, true);
    dv.setUint32(j + J_BUCKET_OFFSET, i.bucket, true);
    dv.setUint32(j + J_LANE0_OFFSET, i.lane0, true);
    dv.setUint32(j + J_LANE1_OFFSET, i.lane1, true);
    dv.setUint32(
      j + J_CRC_OFFSET,
      crc32cUpdate(0, this.view, j + J_INTENT_OFFSET, INTENT_CRC_BYTES),
      true,
    );
  }

  /** The journal's intent if it is whole and names a possible operation; undefined if none or torn. */
  private readIntent(): Intent | undefined {
    const j = this.offset;
    const dv = this.dv;
    const seq = readU53(dv, j + J_SEQ_OFFSET);
    if (
      seq === 0 ||
      dv.getUint32(j + J_CRC_OFFSET, true) !==
        crc32cUpdate(0, this.view, j + J_INTENT_OFFSET, INTENT_CRC_BYTES)
    ) {
      return undefined;
    }
    const i: Intent = {
      op: dv.getUint32(j + J_OP_OFFSET, true),
      seq,
      slot: dv.getUint32(j + J_SLOT_OFFSET, true),
      prevSlot: dv.getUint32(j + J_PREV_SLOT_OFFSET, true),
      keyHash: dv.getUint32(j + J_KEY_HASH_OFFSET, true),
      topAfter: dv.getUint32(j + J_TOP_AFTER_OFFSET, true),
      countAfter: dv.getUint32(j + J_COUNT_AFTER_OFFSET, true),
      bucket: dv.getUint32(j + J_BUCKET_OFFSET, true),
      lane0: dv.getUint32(j + J_LANE0_OFFSET, true),
      lane1: dv.getUint32(j + J_LANE1_OFFSET, true),
    };
    const { slotCount, capacity, fingerprintBuckets } = this.layout;
    const problem =
      i.op !== OP_PUT && i.op !== OP_DELETE
        ? `op ${i.op}`
        : i.slot >= slotCount
          ? `slot ${i.slot}`
          : i.prevSlot !== NO_SLOT && (i.prevSlot >= slotCount || i.op === OP_DELETE)
            ? `prevSlot ${i.prevSlot}`
            : i.countAfter > capacity || i.topAfter + i.countAfter !== slotCount
              ? `topAfter ${i.topAfter}, countAfter ${i.countAfter}`
              : i.bucket >= Math.max(fingerprintBuckets, 1)
                ? `bucket ${i.bucket}`
                : undefined;
    if (problem !== undefined)
      throw new CorruptionError(
        this.region.path,
        j + J_INTENT_OFFSET,
        `PTable journal intent (checksum correct) names an impossible ${problem}`,
      );
    return i;
  }

  /** Finishes the intent a crash may have interrupted (see the file comment). */
  private redo(i: Intent): JournalRedo {
    if (i.op === OP_DELETE) {
      this.applyDelete(i, -1);
      return 'delete';
    }
    const slots = this.slots;
    const base = slots.base(i.slot);
    if (!slots.isCommitted(base) || slots.commitSeq(base) !== i.seq) return 'uncommitted';
    if (slots.problem(base) !== undefined) slots.reportCorrupt(i.slot, base);
    this.applyPut(i, -1);
    return 'put';
  }

  /** A put's P3 (also its redo); `entry`: K's entry or where it goes, -1 to search. */
  applyPut(i: Intent, entry: number): void {
    const index = this.index;
    const at = entry >= 0 ? entry : index.findSlotEntry(i.keyHash, i.slot, i.prevSlot);
    const target = at >= 0 ? at : index.probeFree;
    assert.ok(
      target >= 0,
      'the index always has a free entry on a chain (it has twice as many entries as slots)',
    );
    index.write(target, i.slot + 1, i.keyHash);
    if (i.prevSlot !== NO_SLOT) {
      this.slots.zeroWord(i.prevSlot);
      this.bitmap.set(i.prevSlot, false);
      this.slots.setStackEntry(i.topAfter - 1, i.prevSlot);
    }
    this.finish(i);
  }

  /** A delete's P2 (also its redo); `entry`: K's entry, -1 to search. */
  applyDelete(i: Intent, entry: number): void {
    const at = entry >= 0 ? entry : this.index.findSlotEntry(i.keyHash, i.slot, i.slot);
    if (at >= 0) this.index.write(at, TOMBSTONE, i.keyHash);
    this.slots.zeroWord(i.slot);
    this.bitmap.set(i.slot, false);
    this.slots.setStackEntry(i.topAfter - 1, i.slot);
    this.finish(i);
  }

  /** The counters and the bucket's sums take the intent's values; then the fence. */
  private finish(i: Intent): void {
    const j = this.offset;
    this.dv.setUint32(j + J_TOP_OFFSET, i.topAfter, true);
    this.dv.setUint32(j + J_COUNT_OFFSET, i.countAfter, true);
    writeU53(this.dv, j + J_LAST_SEQ_OFFSET, i.seq);
    this.region.flush(j, JOURNAL_COUNTERS_BYTES);
    this.sums.store(i.bucket, i.lane0, i.lane1);
    this.region.fence();
    this.top = i.topAfter;
    this.count = i.countAfter;
  }
}
