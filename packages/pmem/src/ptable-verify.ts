/**
 * The full scan of a PTable that checks its invariants (tests and tools only: it reads every
 * slot and index entry).
 */
import assert from 'node:assert/strict';
import type { NotValidBitmap } from './ptable-bitmap.js';
import { EMPTY, keyHashOf, type KeyIndex } from './ptable-index.js';
import type { Journal } from './ptable-journal.js';
import { TOMBSTONE, type ResolvedLayout } from './ptable-layout.js';
import { RecordState } from './ptable-record.js';
import type { CorruptSlot, Slots } from './ptable-slots.js';
import type { FingerprintSums } from './ptable-sums.js';

/** The parts of a table the scan reads. */
export interface TableParts {
  layout: ResolvedLayout;
  slots: Slots;
  index: KeyIndex;
  bitmap: NotValidBitmap;
  sums: FingerprintSums;
  journal: Journal;
}

/**
 * Checks that the index names exactly the committed slots, the stack exactly the free ones, and
 * that count, bitmap and fingerprint sums agree with the slots; throws AssertionError on a
 * breach. Returns the live slots that fail their checks (corruption is not a breach).
 */
export function verifyTable({
  layout,
  slots,
  index,
  bitmap,
  sums,
  journal,
}: TableParts): CorruptSlot[] {
  const { slotCount, indexEntries, fingerprintBuckets } = layout;
  const live = new Uint8Array(slotCount);
  const expected = new Uint32Array(2 * fingerprintBuckets);
  const corrupt: CorruptSlot[] = [];
  let records = 0;
  for (let e = 0; e < indexEntries; e++) {
    const raw = index.raw(e);
    if (raw === EMPTY || raw === TOMBSTONE) continue;
    const slot = raw - 1;
    assert.ok(slot < slotCount, `index entry ${e} names slot ${slot} of ${slotCount}`);
    assert.equal(live[slot], 0, `slot ${slot} is named by two index entries`);
    live[slot] = 1;
    records++;
    const base = slots.base(slot);
    index.assertReachable(e, index.hash(e));
    const problem = slots.problem(base);
    if (problem !== undefined) {
      corrupt.push({ slot, offset: base, reason: problem });
      continue;
    }
    assert.equal(
      keyHashOf(slots.decodeKey(base)),
      index.hash(e),
      `index entry ${e} holds another hash than its key's`,
    );
    assert.ok(slots.commitSeq(base) < journal.nextCommitSeq, 'commit sequences only grow');
    if (slots.state(base) !== RecordState.Valid)
      assert.ok(bitmap.isSet(slot), `slot ${slot} is not Valid and its bit is clear`);
    if (fingerprintBuckets > 0) {
      const bucket = slots.bucket(base);
      expected[2 * bucket] = (expected[2 * bucket] as number) + slots.lane0(base);
      expected[2 * bucket + 1] = (expected[2 * bucket + 1] as number) + slots.lane1(base);
    }
  }
  assert.equal(records, journal.count, 'the journal counts the indexed records');
  for (let i = 0; i < journal.top; i++) {
    const slot = slots.stackAt(i);
    assert.ok(
      slot < slotCount && live[slot] === 0,
      `stack entry ${i} (slot ${slot}) is live, repeated or out of range`,
    );
    live[slot] = 2;
    assert.ok(slots.wordIsZero(slots.base(slot)), `free slot ${slot} has a nonzero valid word`);
  }
  assert.equal(journal.top + journal.count, slotCount, 'every slot is free or live');
  assert.deepEqual(sums.copy(), expected, 'the fingerprint sums are those of the records');
  return corrupt.sort((a, b) => a.slot - b.slot);
}
