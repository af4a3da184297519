import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../src/index.js';

test('the same seed replays the same sequence; another seed gives another', () => {
  const seq = (seed: number): number[] => {
    const prng = new Prng(seed);
    return Array.from({ length: 8 }, () => prng.u32());
  };
  assert.deepEqual(seq(42), seq(42));
  assert.notDeepEqual(seq(42), seq(43));
});

test('int, range and pick stay within their bounds and reach both ends', () => {
  const prng = new Prng(7);
  const ints = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const n = prng.int(5);
    ints.add(n);
    const x = prng.range(-2, 3);
    assert.ok(x >= -2 && x < 3, `range ${x}`);
  }
  assert.deepEqual([...ints].sort(), [0, 1, 2, 3, 4]);
  assert.throws(() => prng.int(0), /positive integer/);
  assert.throws(() => prng.pick([]), /empty list/);
  assert.throws(() => new Prng(1.5), /seed must be an integer/);
});

test('a fork depends on its label and on the parent state, not on later draws of the parent', () => {
  const a = new Prng(1);
  const b = new Prng(1);
  const fa = a.fork(3);
  const fb = b.fork(3);
  a.u32();
  assert.equal(fa.u32(), fb.u32());
  assert.notEqual(new Prng(1).fork(3).u32(), new Prng(1).fork(4).u32());
});
