import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GET_BATCH_BYTES, MAX_GET_ITEMS } from '../src/index.js';
import { getBatches } from '../src/protocol/get-batches.js';

const sizes = (batches: unknown[][]): number[] => batches.map((b) => b.length);

test('a round of reads splits into gets of at most MAX_GET_ITEMS, in order', () => {
  const items = Array.from({ length: 2 * MAX_GET_ITEMS + 452 }, (_, i) => i);
  const batches = getBatches(items, () => 8);
  assert.deepEqual(sizes(batches), [MAX_GET_ITEMS, MAX_GET_ITEMS, 452]);
  assert.deepEqual(batches.flat(), items);
  assert.deepEqual(
    getBatches([], () => 8),
    [],
  );
  const one = [7];
  assert.equal(getBatches(one, () => 8)[0], one, 'a round that fits one message is sent as it is');
});

test('a batch ends once its bytes reach GET_BATCH_BYTES; a larger item ends its batch or goes alone', () => {
  const third = Math.ceil(GET_BATCH_BYTES / 3);
  assert.deepEqual(sizes(getBatches([1, 1, 1, 1, 1], () => third)), [3, 2]);
  const bytes = [10, GET_BATCH_BYTES * 4, 10, 10];
  assert.deepEqual(
    getBatches([0, 1, 2, 3], (i) => bytes[i] as number),
    [
      [0, 1],
      [2, 3],
    ],
  );
  assert.deepEqual(
    getBatches([1], () => GET_BATCH_BYTES * 4),
    [[1]],
  );
});
