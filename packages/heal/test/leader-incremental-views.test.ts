import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rec } from './heal-session-harness.js';
import { batchSummary, LiReplica, viewOf } from './leader-incremental-harness.js';

/**
 * A keeper's sync session across views (leader-incremental, ARCHITECTURE.md §6): it forwards
 * new commits until a view admits the joiner, and the first such view fixes where forwarding
 * stops.
 */

/** Keeper 0 with writes k1..k3 logged, replica 1 removed, and its next incarnation synced by a DIFF. */
function syncedSession(): LiReplica {
  const keeper = new LiReplica();
  keeper.start();
  for (let i = 1; i <= 3; i++) keeper.apply(rec(`k${i}`, 1, i));
  keeper.install(
    viewOf(2, [
      [0, 0],
      [2, 0],
    ]),
  );
  keeper.request(3);
  assert.deepEqual(keeper.take('li-batch').map(batchSummary), ['diff/synced:']);
  keeper.ack(1);
  return keeper;
}

test('leader-incremental: a view that does not admit the joiner leaves the forwarding open', () => {
  const keeper = syncedSession();
  keeper.install(viewOf(3, [[0, 0]]));
  keeper.apply(rec('k4', 1, 4));
  assert.deepEqual(keeper.take('li-batch').map(batchSummary), ['diff/forward:k4@1']);
});

test('leader-incremental: the view that admits the joiner ends the forwarding; later views do not move it', () => {
  const keeper = syncedSession();
  keeper.install(
    viewOf(
      3,
      [
        [0, 0],
        [1, 1],
        [2, 0],
      ],
      [1],
    ),
  );
  // A member now: it takes this write itself.
  keeper.apply(rec('k4', 1, 4));
  keeper.install(
    viewOf(4, [
      [0, 0],
      [1, 1],
      [2, 0],
    ]),
  );
  assert.deepEqual(keeper.take('li-batch'), []);
  keeper.joinerAdmitted();
  assert.deepEqual(keeper.take('li-batch').map(batchSummary), ['diff/final:']);
});
