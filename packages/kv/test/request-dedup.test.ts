import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '@heal/base';
import { DEDUP_WINDOW_PER_CLIENT as W, RequestDedup } from '../src/protocol/request-dedup.js';

test('a request is new once per client; ids out of order inside the window are still new', () => {
  const dedup = new RequestDedup();
  assert.equal(dedup.firstTime(7, 100), true);
  assert.equal(dedup.firstTime(7, 100), false);
  assert.equal(dedup.firstTime(8, 100), true, 'clients are independent');
  assert.equal(dedup.firstTime(7, 99), true);
  assert.equal(dedup.firstTime(7, 1), true);
  assert.equal(dedup.firstTime(7, 99), false);
});

test('ids that leave the window count as seen; their slots serve the new ids', () => {
  const dedup = new RequestDedup();
  for (let id = 1; id <= 40; id++) assert.equal(dedup.firstTime(1, id), true);
  assert.equal(dedup.firstTime(1, W + 20), true, 'moves the floor to 20');
  for (let id = 1; id <= 20; id++)
    assert.equal(dedup.firstTime(1, id), false, `id ${id} is at or below the floor`);
  for (let id = 21; id <= 40; id++)
    assert.equal(dedup.firstTime(1, id), false, `id ${id} was seen and is still in the window`);
  for (let id = W + 1; id < W + 20; id++)
    assert.equal(dedup.firstTime(1, id), true, `id ${id} reuses the slot of ${id - W}`);
  assert.equal(dedup.firstTime(1, 5 * W), true, 'a jump past the whole window');
  assert.equal(dedup.firstTime(1, 4 * W), false);
  assert.equal(dedup.firstTime(1, 4 * W + 1), true);
  assert.equal(dedup.firstTime(1, 5 * W), false);
});

test('matches a set of seen ids with a floor, on random id streams', () => {
  const prng = new Prng(42);
  for (let round = 0; round < 20; round++) {
    const dedup = new RequestDedup();
    const seen = new Set<number>();
    let floor = -1;
    let top = prng.int(1_000_000);
    for (let i = 0; i < 20_000; i++) {
      // Mostly growing ids with duplicates and late arrivals, now and then a jump.
      const r = prng.float();
      if (r < 0.6) top += 1 + prng.int(3);
      else if (r < 0.61) top += prng.int(3 * W);
      const id = Math.max(0, r < 0.8 ? top : top - prng.int(W + 1000));
      if (floor < 0) floor = Math.max(0, id - W);
      const expected = id > floor && !seen.has(id);
      if (id > floor + W) floor = id - W;
      if (expected) seen.add(id);
      assert.equal(
        dedup.firstTime(3, id),
        expected,
        `round ${round}, offer ${i}: id ${id}, floor ${floor}`,
      );
    }
  }
});

test('a request id that is not a safe integer is refused', () => {
  assert.throws(() => new RequestDedup().firstTime(1, -1), /request id must be a safe integer/);
  assert.throws(() => new RequestDedup().firstTime(1, 1.5), /request id must be a safe integer/);
});
