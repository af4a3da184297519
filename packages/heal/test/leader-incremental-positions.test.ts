import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordWireBytes, type KeyRecord, type StrategyOptions } from '@heal/kv/replica';
import { rec } from './heal-session-harness.js';
import { batchSummary, LiReplica, viewOf } from './leader-incremental-harness.js';

/**
 * The keeper's resume positions (leader-incremental, ARCHITECTURE.md §6): at the view that
 * removes a replica it knows in sync it records the replica's position, lowered below any
 * write not known at DP; a request from that replica's next incarnation then gets a DIFF from
 * there, or a SNAP when no position holds.
 */

const ALL = viewOf(1, [
  [0, 0],
  [1, 0],
  [2, 0],
  [3, 0],
]);

/** Keeper 0 of ALL, started, with `count` logged writes k1..k<count> (positions 1..count). */
function keeperWith(count: number, options: StrategyOptions = {}): LiReplica {
  const keeper = new LiReplica(options, 0, ALL);
  keeper.start();
  for (let i = 1; i <= count; i++) keeper.apply(rec(`k${i}`, 1, i));
  return keeper;
}

const withoutOne = viewOf(2, [
  [0, 0],
  [2, 0],
  [3, 0],
]);

/** Replica 1's next incarnation asks `keeper` to sync; the first batch it gets. */
function firstBatch(keeper: LiReplica): string {
  keeper.request(10);
  const batches = keeper.take('li-batch');
  assert.ok(batches.length >= 1, `a batch: ${JSON.stringify(keeper.sent)}`);
  return batches.map(batchSummary).join(' | ');
}

test('leader-incremental: the keeper resumes a removed replica after its position', () => {
  const keeper = keeperWith(3);
  keeper.install(withoutOne);
  assert.equal(keeper.stat('liResumesRecorded'), 1);
  assert.equal(keeper.stat('liResumes'), 1);
  keeper.apply(rec('k4', 1, 4));
  keeper.apply(rec('k5', 1, 5));
  assert.equal(firstBatch(keeper), 'diff/synced:k4@1,k5@1');
});

test('leader-incremental: a logged write not at DP at the removal lowers the position below it', () => {
  const keeper = keeperWith(5);
  const inv: KeyRecord = { ...rec('x', 7, 9), state: 'invalid' };
  // k3's write (position 3) may have missed replica 1; x is not Valid here (logged later).
  keeper.notDurable = [rec('k3', 1, 3), inv];
  keeper.install(withoutOne);
  keeper.notDurable = [];
  assert.equal(keeper.stat('liResumesRecorded'), 1);
  assert.equal(keeper.stat('liResumesUncovered'), 0);
  assert.equal(firstBatch(keeper), 'diff/synced:k3@1,k4@1,k5@1');
});

test('leader-incremental: the lowest such write sets the position', () => {
  const keeper = keeperWith(5);
  keeper.notDurable = [rec('k4', 1, 4), rec('k2', 1, 2), rec('k5', 1, 5)];
  keeper.install(withoutOne);
  keeper.notDurable = [];
  assert.equal(firstBatch(keeper), 'diff/synced:k2@1,k3@1,k4@1,k5@1');
});

test('leader-incremental: a write not at DP and truncated from the log leaves no position: a SNAP', () => {
  // The log's budget holds the last two writes: k1 is gone.
  const keeper = keeperWith(3, { bufferBytes: 2 * recordWireBytes(rec('k1', 1, 1)) });
  keeper.notDurable = [rec('k1', 1, 1)];
  keeper.install(withoutOne);
  keeper.notDurable = [];
  assert.equal(keeper.stat('liResumesUncovered'), 1);
  assert.equal(keeper.stat('liResumesRecorded'), 0);
  assert.equal(keeper.stat('liResumes'), 0);
  assert.match(firstBatch(keeper), /^snap\/base:/);
  assert.equal(keeper.stat('liSnapsNoResume'), 1);
});

test('leader-incremental: members a view keeps stay in sync; each removal records its own position', () => {
  const keeper = keeperWith(2);
  keeper.install(
    viewOf(2, [
      [0, 0],
      [1, 0],
      [2, 0],
    ]),
  );
  assert.equal(keeper.stat('liResumesRecorded'), 1, 'replica 3 only');
  keeper.apply(rec('k3', 1, 3));
  keeper.install(
    viewOf(3, [
      [0, 0],
      [2, 0],
    ]),
  );
  assert.equal(keeper.stat('liResumesRecorded'), 2, 'then replica 1');
  assert.equal(keeper.stat('liResumes'), 2);
  keeper.apply(rec('k4', 1, 4));
  assert.equal(firstBatch(keeper), 'diff/synced:k4@1');
});

test('leader-incremental: a new keeper knows the full members in sync, not the shadows', () => {
  // Replica 1 becomes keeper when 0 leaves; 3 has restarted and is still a shadow.
  const node = new LiReplica({}, 1, ALL);
  node.start();
  assert.equal(node.stat('liKeeper'), 0);
  node.install(
    viewOf(
      2,
      [
        [1, 0],
        [2, 0],
        [3, 1],
      ],
      [3],
    ),
  );
  assert.equal(node.stat('liKeeper'), 1);
  node.install(
    viewOf(3, [
      [1, 0],
      [2, 0],
    ]),
  );
  assert.equal(node.stat('liResumesRecorded'), 0, 'the shadow 3 was never known in sync');
  node.install(viewOf(4, [[1, 0]]));
  assert.equal(node.stat('liResumesRecorded'), 1, 'the full member 2 was');
  assert.equal(node.stat('liResumes'), 1);
});
