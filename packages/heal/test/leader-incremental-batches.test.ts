import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BATCH_MAX_BYTES, BATCH_MAX_ENTRIES, WINDOW_BATCHES } from '@heal/kv/replica';
import { JOINER, LiReplica, sized } from './leader-incremental-harness.js';

// What the keeper streams to a syncing replica, batch by batch (fill): the snapshot, the logged
// writes up to the catch-up target, the writes it forwards until its view admits the replica,
// the outstanding keys, the final marker; and a session that falls behind the log (onApply).

/** A record of this many bytes fills a batch's byte bound in exactly 4. */
const QUARTER = BATCH_MAX_BYTES / 4;

/** The keeper of a 3-member view over `keys` records; replica 1 removed before any write. */
function keeperWithout(keys = 10, options = {}, bytes = 40): LiReplica {
  const keeper = new LiReplica(options).start(keys, bytes);
  keeper.remove(JOINER);
  return keeper;
}

/** Replica 1's session, synced on an empty DIFF, its window then filled by 3 forwarded writes. */
function fullWindow(options = {}): LiReplica {
  const keeper = keeperWithout(10, options);
  keeper.request(10);
  keeper.write(3);
  assert.deepEqual(keeper.marks(), ['synced:0', 'forward:1', 'forward:1', 'forward:1']);
  assert.equal(keeper.batches().length, WINDOW_BATCHES);
  return keeper;
}

test('a snapshot goes in batches of at most BATCH_MAX_ENTRIES records, and no empty one at its end', () => {
  const keeper = keeperWithout(BATCH_MAX_ENTRIES);
  keeper.request(0);
  assert.deepEqual(keeper.marks(), [`base:${BATCH_MAX_ENTRIES}`, 'synced:0']);
});

test('a snapshot batch ends once it holds BATCH_MAX_BYTES', () => {
  const keeper = keeperWithout(5, {}, QUARTER);
  keeper.request(0);
  assert.deepEqual(keeper.marks(), ['base:4', 'base:1', 'synced:0']);
});

test('logged writes go in batches of at most BATCH_MAX_BYTES, catch-up until the last reaches the target', () => {
  const keeper = keeperWithout();
  for (let i = 0; i < 5; i++) keeper.apply(sized(`w${i}`, 2, QUARTER));
  keeper.request(10);
  assert.deepEqual(keeper.marks(), ['catch-up:4', 'synced:1']);
});

test('logged writes go in batches of at most BATCH_MAX_ENTRIES', () => {
  const keeper = keeperWithout();
  keeper.write(BATCH_MAX_ENTRIES + 1);
  keeper.request(10);
  assert.deepEqual(keeper.marks(), [`catch-up:${BATCH_MAX_ENTRIES}`, 'synced:1']);
});

test('a synced session gets each new write forwarded, until its window is full', () => {
  const keeper = fullWindow();
  keeper.write(1, 3);
  assert.equal(keeper.batches().length, WINDOW_BATCHES, 'the window is full');
  keeper.ack(1);
  assert.deepEqual(keeper.marks().slice(WINDOW_BATCHES), ['forward:1']);
});

test("the final marker waits for the keeper's own view to admit the joiner", () => {
  const keeper = keeperWithout();
  keeper.request(10);
  keeper.joinerAdmitted();
  assert.deepEqual(keeper.marks(), ['synced:0'], 'the joiner says it is admitted: no final yet');
  keeper.admit(JOINER);
  assert.deepEqual(keeper.marks(), ['synced:0', 'final:0'], 'nothing outstanding: the final');
});

test('at admission, the keys not Valid at the keeper go to the joiner before the final marker', () => {
  const keeper = keeperWithout();
  keeper.request(10);
  const pending = sized('k1', 3, 40, 'invalid');
  const tracked = sized('k2', 3, 40, 'valid');
  keeper.records.set(pending.key, pending);
  keeper.records.set(tracked.key, tracked);
  keeper.notDurable = [pending, tracked];
  keeper.admit(JOINER);
  keeper.joinerAdmitted();
  const [, outstanding, final] = keeper.batches();
  assert.deepEqual(keeper.marks(), ['synced:0', 'forward:1', 'final:0']);
  assert.deepEqual(
    outstanding?.entries.map((e) => `${e.key}@${e.version}:${e.state}`),
    ['k1@3:invalid'],
  );
  assert.equal(final?.mark, 'final');
});

test('outstanding keys go in batches of at most BATCH_MAX_ENTRIES', () => {
  const keeper = keeperWithout(300);
  keeper.request(300);
  keeper.notDurable = [...keeper.records.values()].map((r) => ({ ...r, state: 'invalid' }));
  keeper.admit(JOINER);
  keeper.joinerAdmitted();
  assert.deepEqual(keeper.marks(), [
    'synced:0',
    `forward:${BATCH_MAX_ENTRIES}`,
    'forward:44',
    'final:0',
  ]);
});

test('outstanding keys go in batches of at most BATCH_MAX_BYTES', () => {
  const keeper = keeperWithout(5, {}, QUARTER);
  keeper.request(5);
  keeper.notDurable = [...keeper.records.values()].map((r) => ({ ...r, state: 'invalid' }));
  keeper.admit(JOINER);
  keeper.joinerAdmitted();
  assert.deepEqual(keeper.marks(), ['synced:0', 'forward:4', 'forward:1', 'final:0']);
});

test('outstanding keys over bufferBytes at admission: the session starts over', () => {
  const atBudget = keeperWithout(10, { bufferBytes: 100 });
  atBudget.request(10);
  atBudget.notDurable = [sized('k1', 3, 50, 'invalid'), sized('k2', 3, 50, 'invalid')];
  atBudget.admit(JOINER);
  assert.deepEqual(atBudget.rejects(), [], 'exactly bufferBytes fits');
  assert.equal(atBudget.stat('liOverflows'), 0);

  const over = keeperWithout(10, { bufferBytes: 100 });
  over.request(10);
  over.notDurable = [sized('k1', 3, 51, 'invalid'), sized('k2', 3, 50, 'invalid')];
  over.admit(JOINER);
  assert.deepEqual(over.rejects(), ['overflow']);
  assert.equal(over.stat('liOverflows'), 1);
  assert.equal(over.stat('liSessionsDropped'), 1);
});

test('a session whose next write the log drops starts over, not before', () => {
  // The log holds 2 writes; the session's next one to send is position 4.
  const keeper = fullWindow({ bufferBytes: 80 });
  keeper.write(1, 3); // position 4, unsent: the log holds 3, 4
  keeper.write(1, 4); // the log holds 4, 5
  assert.deepEqual(keeper.rejects(), [], 'position 4 is still logged');
  keeper.write(1, 5); // the log holds 5, 6
  assert.deepEqual(keeper.rejects(), ['overflow']);
  assert.equal(keeper.stat('liOverflows'), 1);
  assert.equal(keeper.stat('liSessionsDropped'), 1);
});

test('after admission, forwarding stops at the admission position', () => {
  const keeper = fullWindow();
  keeper.write(1, 3); // position 4, unsent
  keeper.admit(JOINER); // at position 4
  keeper.write(1, 4); // position 5: the joiner gets it as a member
  keeper.ack(WINDOW_BATCHES);
  assert.deepEqual(keeper.marks().slice(WINDOW_BATCHES), ['forward:1']);
  assert.equal(keeper.batches().at(-1)?.entries[0]?.version, 3);
  keeper.joinerAdmitted();
  assert.deepEqual(keeper.marks().slice(WINDOW_BATCHES), ['forward:1', 'final:0']);
});

test('after admission, a session that still owes logged writes starts over when the log drops them', () => {
  const keeper = fullWindow({ bufferBytes: 80 });
  keeper.write(1, 3); // position 4, unsent
  keeper.admit(JOINER); // at position 4
  keeper.write(1, 4); // the log holds 4, 5
  assert.deepEqual(keeper.rejects(), []);
  keeper.write(1, 5); // the log holds 5, 6
  assert.deepEqual(keeper.rejects(), ['overflow']);
});

test('after admission, a session that sent every write up to it ignores what the log drops later', () => {
  const keeper = fullWindow({ bufferBytes: 80 });
  keeper.admit(JOINER); // at position 3, all sent
  keeper.write(3, 3); // the log drops everything up to position 4
  assert.deepEqual(keeper.rejects(), []);
  keeper.ack(WINDOW_BATCHES);
  keeper.joinerAdmitted();
  assert.deepEqual(keeper.marks().slice(WINDOW_BATCHES), ['final:0']);
});

test('a joiner already admitted when it asks is not owed the writes after its snapshot: the log may drop them', () => {
  const keeper = new LiReplica({ bufferBytes: 80 }).start(3 * BATCH_MAX_ENTRIES + 10);
  keeper.remove(JOINER);
  keeper.admit(JOINER);
  keeper.request(0);
  // The 4th batch ends the snapshot: the catch-up target is the position before any write.
  assert.deepEqual(keeper.marks(), [
    `base:${BATCH_MAX_ENTRIES}`,
    `base:${BATCH_MAX_ENTRIES}`,
    `base:${BATCH_MAX_ENTRIES}`,
    'base:10',
  ]);
  keeper.write(3); // past the admission position: the log drops position 1
  keeper.ack(WINDOW_BATCHES);
  keeper.joinerAdmitted();
  assert.deepEqual(keeper.marks().slice(WINDOW_BATCHES), ['synced:0', 'final:0']);
  assert.deepEqual(keeper.rejects(), []);
});
