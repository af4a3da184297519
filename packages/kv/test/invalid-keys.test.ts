import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '@heal/base';
import { InvalidKeys, type InvalidListed } from '../src/protocol/invalid-keys.js';

const record = (key: string): InvalidListed => ({ key, invalidSeq: 0 });

function listed(keys: InvalidKeys<InvalidListed>): [string, number, number][] {
  return keys.entries().map(({ record: r, sinceMs, from }) => [r.key, sinceMs, from]);
}

test('InvalidKeys lists keys oldest first; re-adding a key moves it to the end', () => {
  const keys = new InvalidKeys<InvalidListed>();
  const [a, b, c] = [record('a'), record('b'), record('c')];
  keys.add(a, 1, 0);
  keys.add(b, 2, 1);
  keys.add(c, 3, 2);
  keys.add(a, 4, 3);
  assert.deepEqual(listed(keys), [
    ['b', 2, 1],
    ['c', 3, 2],
    ['a', 4, 3],
  ]);
  assert.equal(keys.size, 3);
  assert.equal(keys.remove(c), 3, 'remove answers since when the key was listed');
  assert.equal(keys.remove(c), undefined, 'a key removed twice was listed once');
  assert.equal(c.invalidSeq, 0);
  assert.deepEqual(listed(keys), [
    ['b', 2, 1],
    ['a', 4, 3],
  ]);
  assert.equal(keys.size, 2);
});

test('InvalidKeys.visitOldest stops when told, caps the visits, and tolerates removal and additions while visiting', () => {
  const keys = new InvalidKeys<InvalidListed>();
  const records = Array.from({ length: 10 }, (_, i) => record(`k${i}`));
  records.forEach((r, i) => keys.add(r, i, 0));
  const seen: string[] = [];
  keys.visitOldest(100, (r, sinceMs) => {
    if (sinceMs >= 5) return false;
    seen.push(r.key);
    keys.remove(r);
    keys.add(record(`new-${r.key}`), 100 + sinceMs, 1);
    return true;
  });
  assert.deepEqual(
    seen,
    ['k0', 'k1', 'k2', 'k3', 'k4'],
    'added entries are not visited in the same pass',
  );
  assert.equal(keys.size, 10);
  const capped: string[] = [];
  keys.visitOldest(3, (r) => capped.push(r.key) > 0);
  assert.deepEqual(capped, ['k5', 'k6', 'k7']);
});

test('InvalidKeys agrees with an ordered Map over a long random run, across its rebuilds', () => {
  const prng = new Prng(7);
  const keys = new InvalidKeys<InvalidListed>();
  const model = new Map<string, { sinceMs: number; from: number }>();
  const records = Array.from({ length: 300 }, (_, i) => record(`k${i}`));
  for (let step = 1; step <= 50_000; step++) {
    const r = records[prng.int(records.length)] as InvalidListed;
    if (prng.float() < 0.5) {
      keys.add(r, step, step % 7);
      model.delete(r.key);
      model.set(r.key, { sinceMs: step, from: step % 7 });
    } else {
      assert.equal(keys.remove(r), model.get(r.key)?.sinceMs, `step ${step}: remove ${r.key}`);
      model.delete(r.key);
    }
    assert.equal(keys.size, model.size, `step ${step}: size`);
    if (step % 5000 === 0) {
      assert.deepEqual(
        listed(keys),
        [...model].map(([k, v]) => [k, v.sinceMs, v.from]),
        `step ${step}: order`,
      );
    }
  }
});
