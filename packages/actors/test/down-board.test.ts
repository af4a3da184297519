import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DownBoard } from '../src/threads/down-board.js';

test('a down board reports each ended incarnation once, the latest per actor', () => {
  const board = DownBoard.create(3);
  const early = board.reader();
  board.ended(1, 0);
  const late = board.reader();
  const seen: [number, number][] = [];
  early.poll((id, incarnation) => seen.push([id, incarnation]));
  assert.deepEqual(seen, [[1, 0]]);
  early.poll(() => assert.fail('nothing new'));
  late.poll(() => assert.fail('a reader starts from what ended before it'));
  board.ended(1, 1);
  board.ended(1, 2);
  board.ended(2, 0);
  seen.length = 0;
  early.poll((id, incarnation) => seen.push([id, incarnation]));
  assert.deepEqual(seen, [
    [1, 2],
    [2, 0],
  ]);
});

test('a down board refuses an incarnation that ends before one that already ended', () => {
  const board = DownBoard.create(2);
  board.ended(0, 3);
  assert.throws(() => board.ended(0, 3), /incarnation 3 of actor 0 ends after a later one/);
  assert.throws(() => board.ended(2, 0), /no actor 2/);
  assert.throws(() => new DownBoard(new SharedArrayBuffer(4)), /at least one actor/);
});

test('whether an incarnation ended: that one or a later one, on the board and in every reader', () => {
  const board = DownBoard.create(2);
  const reader = board.reader();
  assert.equal(board.hasEnded(0, 0), false);
  board.ended(0, 1);
  for (const view of [board, reader]) {
    assert.deepEqual(
      [view.hasEnded(0, 0), view.hasEnded(0, 1), view.hasEnded(0, 2), view.hasEnded(1, 0)],
      [true, true, false, false],
    );
  }
});
