import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COMMIT_LOG_COUNT_DEFAULT,
  leaderIncrementalOptions,
  SNAPSHOT_SIZE_FACTOR_DEFAULT,
} from '../src/leader-incremental.js';

/** leader-incremental's options (the simulator suite checks the other bad values' messages). */

test('leader-incremental options: defaults, and snapshotSizeFactor must be a finite number', () => {
  assert.deepEqual(leaderIncrementalOptions({ bufferBytes: 100 }), {
    bufferBytes: 100,
    commitLogCount: COMMIT_LOG_COUNT_DEFAULT,
    snapshotSizeFactor: SNAPSHOT_SIZE_FACTOR_DEFAULT,
  });
  assert.equal(leaderIncrementalOptions({ snapshotSizeFactor: -1 }).snapshotSizeFactor, -1);
  for (const factor of [Infinity, -Infinity, NaN]) {
    assert.throws(
      () => leaderIncrementalOptions({ snapshotSizeFactor: factor }),
      /^RangeError: leader-incremental option snapshotSizeFactor must be a finite number/,
      String(factor),
    );
  }
  assert.throws(
    () => leaderIncrementalOptions({ snapshotSizeFactor: true }, 'li-x'),
    /^RangeError: li-x option snapshotSizeFactor must be a finite number, got true$/,
  );
});
