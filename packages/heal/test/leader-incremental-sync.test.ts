import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JOINER, LiReplica, sized } from './leader-incremental-harness.js';

// The keeper's log and its choice between a DIFF and a SNAP (#diffFrom), which replica serves
// a request (open), and what a completed sync leaves behind (closed).

/** The keeper of a 3-member view over `keys` records, replica 1 removed after `before` writes. */
function removedAfter(before: number, keys = 10, options = {}): LiReplica {
  const keeper = new LiReplica(options).start(keys);
  keeper.write(before, 2);
  keeper.remove(JOINER);
  return keeper;
}

test('the keeper logs the writes that became Valid, not the other state changes', () => {
  const keeper = new LiReplica().start(3);
  keeper.apply(sized('a', 2, 40, 'invalid'));
  keeper.apply(sized('b', 2, 40, 'write'));
  assert.equal(keeper.stat('liLogEntries'), 0);
  assert.equal(keeper.stat('liLogPosition'), 0);
  keeper.apply(sized('a', 2));
  assert.equal(keeper.stat('liLogEntries'), 1);
  assert.equal(keeper.stat('liLogPosition'), 1);
});

test('a replica that is not the keeper and serves no session does not log', () => {
  const other = new LiReplica({}, 2).start(3);
  assert.equal(other.stat('liKeeper'), 0);
  other.write(3);
  assert.equal(other.stat('liLogPosition'), 0, 'no position taken');
  assert.equal(other.stat('liLogEntries'), 0);
});

test('the log stays within bufferBytes and counts the entries it drops', () => {
  const keeper = new LiReplica({ bufferBytes: 100 }).start(3);
  keeper.write(5, 2, 40);
  assert.equal(keeper.stat('liLogEntries'), 2);
  assert.equal(keeper.stat('liLogBytes'), 80);
  assert.equal(keeper.stat('liLogTruncated'), 3);
});

test('a DIFF sends exactly the writes logged after the resume position', () => {
  const keeper = removedAfter(3);
  assert.equal(keeper.stat('liResumesRecorded'), 1);
  keeper.apply(sized('w0', 3));
  keeper.apply(sized('x', 3));
  keeper.request(10);
  const [batch, ...rest] = keeper.batches();
  assert.deepEqual(rest, []);
  assert.equal(batch?.mode, 'diff');
  assert.equal(batch?.mark, 'synced');
  assert.deepEqual(
    batch?.entries.map((e) => `${e.key}@${e.version}`),
    ['w0@3', 'x@3'],
  );
  assert.equal(keeper.stat('liDiffs'), 1);
  assert.equal(keeper.stat('liSnaps'), 0);
  assert.deepEqual(keeper.rejects(), []);
});

test('no write since the removal: an empty DIFF', () => {
  const keeper = removedAfter(3);
  keeper.request(10);
  assert.deepEqual(keeper.marks(), ['synced:0']);
  assert.equal(keeper.batches()[0]?.mode, 'diff');
});

test('removed before any write: a DIFF from the first log position', () => {
  const keeper = removedAfter(0);
  keeper.write(2);
  keeper.request(10);
  assert.deepEqual(keeper.marks(), ['synced:2']);
  assert.equal(keeper.batches()[0]?.mode, 'diff');
  assert.equal(keeper.stat('liSnapsTruncated'), 0);
});

test('a medium that kept nothing gets a SNAP: the store, then what was logged since', () => {
  const keeper = removedAfter(2, 10);
  keeper.request(0);
  assert.deepEqual(keeper.marks(), ['base:12', 'synced:0']);
  assert.equal(keeper.batches()[0]?.mode, 'snap');
  assert.equal(keeper.stat('liSnaps'), 1);
  assert.equal(keeper.stat('liDiffs'), 0);
  assert.equal(keeper.stat('liSnapsNoResume'), 1);
});

test('a resume position the log no longer holds gets a SNAP', () => {
  const keeper = removedAfter(1, 4, { bufferBytes: 80 });
  keeper.write(3, 3);
  keeper.request(4);
  assert.equal(keeper.batches()[0]?.mode, 'snap');
  assert.equal(keeper.stat('liSnapsTruncated'), 1);
});

test('a DIFF within the last commitLogCount entries needs no size test', () => {
  // snapshotSizeFactor < 0: a DIFF reaching past the in-memory entries is never chosen.
  const options = { commitLogCount: 2, snapshotSizeFactor: -1 };
  const exact = removedAfter(0, 10, options);
  exact.write(2);
  exact.request(10);
  assert.equal(exact.batches()[0]?.mode, 'diff', 'the gap is exactly the in-memory entries');
  assert.equal(exact.stat('liSnapsTooLarge'), 0);

  const longer = removedAfter(0, 10, options);
  longer.write(3);
  longer.request(10);
  assert.equal(longer.batches()[0]?.mode, 'snap', 'one entry past them');
  assert.equal(longer.stat('liSnapsTooLarge'), 1);
});

test('past the in-memory entries, a DIFF while its bytes are at most snapshotSizeFactor x the store', () => {
  // 13 records of 40 bytes in the store; 3 logged writes of 40 bytes.
  const within = removedAfter(0, 10, { commitLogCount: 1, snapshotSizeFactor: 0.5 });
  within.write(3);
  within.request(10);
  assert.equal(within.batches()[0]?.mode, 'diff');
  assert.deepEqual(within.marks(), ['synced:3']);
  assert.equal(within.stat('liDiffsFromTxnLog'), 1);
  assert.equal(within.stat('liSnapsTooLarge'), 0);

  const over = removedAfter(0, 10, { commitLogCount: 1, snapshotSizeFactor: 0.2 });
  over.write(3);
  over.request(10);
  assert.equal(over.batches()[0]?.mode, 'snap', '120 > 0.2 x 520 bytes');
  assert.equal(over.stat('liDiffsFromTxnLog'), 0);
  assert.equal(over.stat('liSnapsTooLarge'), 1);
});

test('the size test reads only as many records of the store as the answer needs', () => {
  // 1,000 records of 40 bytes; 3 logged writes of 40 bytes: 120 <= 0.5 x 240, six records.
  const keeper = removedAfter(0, 1000, { commitLogCount: 1, snapshotSizeFactor: 0.5 });
  keeper.write(3);
  const values = keeper.records.values.bind(keeper.records);
  let read = 0;
  function* counted() {
    for (const record of values()) {
      read++;
      yield record;
    }
  }
  keeper.records.values = counted as unknown as typeof keeper.records.values;
  keeper.request(10);
  assert.equal(keeper.batches()[0]?.mode, 'diff');
  assert.equal(read, 6);
});

test('a DIFF whose bytes equal snapshotSizeFactor x the store is still a DIFF', () => {
  // An empty dataset: the store is exactly the 3 logged writes.
  const keeper = removedAfter(0, 0, { commitLogCount: 1, snapshotSizeFactor: 1 });
  keeper.write(3);
  keeper.request(3);
  assert.equal(keeper.batches()[0]?.mode, 'diff');
});

test('a full member that is not the keeper names the keeper, and serves a SNAP when asked as a fallback', () => {
  const other = new LiReplica({}, 2).start(5);
  other.remove(JOINER);
  other.request(5);
  assert.deepEqual(other.rejects(), ['not-source/0']);
  assert.deepEqual(other.batches(), []);
  other.request(5, true);
  assert.deepEqual(other.marks(), ['base:5', 'synced:0']);
  assert.equal(other.batches()[0]?.mode, 'snap');
  assert.equal(other.stat('liSnaps'), 1);
});

test('the keeper serves a request that is not a fallback', () => {
  const keeper = removedAfter(1);
  keeper.request(10, false);
  assert.deepEqual(keeper.rejects(), []);
  assert.equal(keeper.batches()[0]?.mode, 'diff');
});

test('a completed sync makes the joiner in sync again: its next removal records a resume position', () => {
  const keeper = removedAfter(2);
  keeper.request(10);
  keeper.admit(JOINER);
  keeper.joinerAdmitted();
  assert.deepEqual(keeper.marks(), ['synced:0', 'final:0']);
  keeper.ackAll();
  assert.equal(keeper.stat('liSessionsDone'), 1);
  keeper.full(JOINER);
  keeper.write(1, 3);
  keeper.remove(JOINER);
  assert.equal(keeper.stat('liResumesRecorded'), 2);
  assert.equal(keeper.stat('liResumes'), 1);
  keeper.write(2, 4);
  keeper.take();
  keeper.request(10, false, JOINER, 2);
  assert.equal(keeper.batches()[0]?.mode, 'diff', 'resumes where it was removed');
  assert.deepEqual(keeper.marks(), ['synced:2']);
});

test('a fallback source stops logging once its session is done', () => {
  const other = new LiReplica({}, 2).start(5);
  other.remove(JOINER);
  other.request(5, true);
  other.write(2);
  assert.equal(other.stat('liLogEntries'), 2, 'it logs while it serves');
  other.ackAll();
  other.admit(JOINER);
  other.joinerAdmitted();
  other.ackAll();
  assert.equal(other.stat('liSessionsDone'), 1);
  assert.equal(other.stat('liLogEntries'), 0);
});

test('a joiner its view already admits gets a SNAP that ends at the admission position, though the log dropped later writes', () => {
  // It asked again (say a new keeper after the old one failed mid-sync): admitted at open, so
  // it takes later writes as a member and the session needs no log past that position.
  const keeper = new LiReplica({ bufferBytes: 80 }).start(3 * 256 + 300);
  keeper.remove(JOINER);
  keeper.admit(JOINER);
  keeper.request(0);
  assert.deepEqual(keeper.marks(), ['base:256', 'base:256', 'base:256', 'base:256']);
  keeper.write(3); // taken during the snapshot; the log keeps only the newest of them
  assert.ok(keeper.stat('liLogTruncated') > 0, 'the log dropped writes past the admission');
  keeper.ack(4);
  assert.deepEqual(keeper.marks().slice(4), ['base:47', 'synced:0']);
  assert.deepEqual(keeper.rejects(), [], 'not aborted: it needs nothing the log dropped');
});
