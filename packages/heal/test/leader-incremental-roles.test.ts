import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_HINT, SIM_TIMING, STALL_RETRANSMITS } from '@heal/kv/replica';
import { rec } from './heal-session-harness.js';
import { batchSummary, LiReplica, viewOf } from './leader-incremental-harness.js';

/**
 * Who keeps leader-incremental's log (ARCHITECTURE.md §6): the keeper, the lowest-id full
 * member while admitted and not recovering, and any source while a session reads its log; a
 * replica that is not the keeper points a requester at it.
 */

const VIEW = viewOf(1, [
  [0, 0],
  [1, 0],
  [2, 0],
]);
/** VIEW once replica 1 (about to restart) is removed. */
const WITHOUT_ONE = viewOf(2, [
  [0, 0],
  [2, 0],
]);

test('leader-incremental: a full member that is not the keeper names the keeper', () => {
  const node = new LiReplica({}, 2, WITHOUT_ONE);
  node.start();
  assert.equal(node.stat('liKeeper'), 0);
  node.request(5);
  assert.deepEqual(
    node.take('li-reject').map((m) => [m['reason'], m['hint']]),
    [['not-source', 0]],
  );
});

/** Replica 0 restarted: not admitted yet, its view (stale) still lists its old incarnation. */
function restartedZero(): LiReplica {
  const node = new LiReplica({}, 0, VIEW);
  node.incarnation = 1;
  node.admitted = false;
  node.start();
  node.take('li-request');
  return node;
}

test('leader-incremental: a restarted replica its stale view names keeper gives no hint to itself', () => {
  const node = restartedZero();
  node.request(5, false, 2);
  assert.deepEqual(
    node.take('li-reject').map((m) => [m['reason'], m['hint']]),
    [['not-source', NO_HINT]],
  );
});

test('leader-incremental: a replica that is not admitted is no keeper, even as the lowest id of its view', () => {
  const node = restartedZero();
  node.install(
    viewOf(2, [
      [0, 0],
      [1, 0],
    ]),
  );
  assert.equal(node.stat('liKeeper'), 0);
  node.apply(rec('a', 1, 1));
  assert.equal(node.stat('liLogEntries'), 0, 'it logs nothing');
});

test('leader-incremental: a keeper removed while alive drops its log and records no position for itself', () => {
  const node = new LiReplica({}, 0, VIEW);
  node.start();
  assert.equal(node.stat('liKeeper'), 1);
  for (let i = 1; i <= 3; i++) node.apply(rec(`k${i}`, 1, i));
  assert.equal(node.stat('liLogEntries'), 3);
  node.admitted = false;
  node.install(
    viewOf(2, [
      [1, 0],
      [2, 0],
    ]),
  );
  assert.equal(node.stat('liKeeper'), 0);
  assert.equal(node.stat('liLogEntries'), 0);
  assert.equal(node.stat('liLogBytes'), 0);
  assert.equal(node.stat('liLogPosition'), 3, 'positions never restart');
  assert.equal(node.stat('liResumesRecorded'), 0);
});

test('leader-incremental: a fallback source logs the writes its SNAP session forwards, then drops its log', () => {
  const node = new LiReplica({}, 2, WITHOUT_ONE);
  node.start();
  node.apply(rec('a', 1, 1));
  assert.equal(node.stat('liLogEntries'), 0, 'not the keeper, no session: no log');
  // Replica 1 restarted, found no keeper, and asks any full member.
  node.request(0, true);
  assert.deepEqual(node.take('li-batch').map(batchSummary), ['snap/base:a@1', 'snap/synced:']);
  node.apply(rec('b', 1, 2));
  assert.deepEqual(node.take('li-batch').map(batchSummary), ['snap/forward:b@1']);
  assert.equal(node.stat('liLogEntries'), 1);
  // The joiner goes silent: the session is given up, and the log with it.
  node.nowMs = STALL_RETRANSMITS * SIM_TIMING.retransmitMs + 1;
  node.tick();
  assert.equal(node.stat('liSessionsDropped'), 1);
  assert.equal(node.stat('liLogEntries'), 0);
  assert.equal(node.stat('liLogPosition'), 1);
});
