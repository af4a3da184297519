import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drainMap } from '../src/protocol/drain-map.js';

test('drainMap hands out every entry once, in insertion order, and leaves the map empty', () => {
  const map = new Map<number, string>([
    [3, 'c'],
    [1, 'a'],
    [2, 'b'],
  ]);
  const seen: [number, string, number][] = [];
  drainMap(map, (value, key) => seen.push([key, value, map.size]));
  assert.deepEqual(
    seen,
    [
      [3, 'c', 2],
      [1, 'a', 1],
      [2, 'b', 0],
    ],
    'each entry is gone before it is handed out',
  );
  assert.equal(map.size, 0);
  drainMap(map, () => assert.fail('an empty map hands out nothing'));
});

test('drainMap also drains what its callback adds, so nothing queued meanwhile is lost', () => {
  const map = new Map<string, number>([['x', 1]]);
  const seen: string[] = [];
  drainMap(map, (value, key) => {
    seen.push(key);
    if (value < 3) map.set(`${key}+`, value + 1);
  });
  assert.deepEqual(seen, ['x', 'x+', 'x++']);
  assert.equal(map.size, 0);
  map.set('again', 1);
  assert.equal(map.get('again'), 1, 'the map stays usable');
});
