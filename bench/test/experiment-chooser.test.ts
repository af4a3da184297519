import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AVOID_MS, ReplicaChooser } from '../src/experiment/load-task.js';

/** The replicas `pick` returns over `n` calls at `nowMs`. */
function picks(chooser: ReplicaChooser, n: number, nowMs: number): number[] {
  return Array.from({ length: n }, () => chooser.pick(nowMs));
}

test('a replica that was not serving (another replica answered) is avoided, then probed one request at a time', () => {
  const chooser = new ReplicaChooser(3, 0);
  assert.deepEqual(picks(chooser, 3, 0), [0, 1, 2]);
  // Replica 1 was asked, replica 2 answered (1 is recovering): a success, but not from 1.
  chooser.settled(1, { ok: true, servedBy: 2, timedOut: false }, 10);
  assert.deepEqual(picks(chooser, 4, 10 + AVOID_MS - 1), [0, 2, 0, 2]);
  // Past the avoidance, one probe goes to 1; no second one while it is out.
  assert.deepEqual(picks(chooser, 4, 10 + AVOID_MS), [0, 1, 2, 0]);
  // The probe was answered by another replica again: avoided again.
  chooser.settled(1, { ok: true, servedBy: 0, timedOut: false }, 10 + AVOID_MS);
  assert.deepEqual(picks(chooser, 4, 10 + 2 * AVOID_MS - 1), [2, 0, 2, 0]);
  // Once 1 answers a probe itself, it is back in the rotation.
  assert.deepEqual(picks(chooser, 2, 10 + 2 * AVOID_MS), [1, 2]);
  chooser.settled(1, { ok: true, servedBy: 1, timedOut: false }, 10 + 2 * AVOID_MS);
  assert.deepEqual(picks(chooser, 3, 10 + 2 * AVOID_MS), [0, 1, 2]);
});

test('a replica that timed out an operation is avoided; another failure leaves it in the rotation', () => {
  const chooser = new ReplicaChooser(2, 0);
  chooser.settled(0, { ok: false, servedBy: undefined, timedOut: true }, 0);
  assert.deepEqual(picks(chooser, 2, 1), [1, 1]);
  chooser.settled(1, { ok: false, servedBy: undefined, timedOut: false }, 1);
  assert.deepEqual(picks(chooser, 2, 1), [1, 1]);
});
