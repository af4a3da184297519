import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VersionVector, type VvEntry } from '../src/digest/version-vector.js';
import { seededRandom as prng } from './seeded-random.js';


const held = (origin: number, ...seqs: number[]): VvEntry[] => seqs.map((seq) => ({ origin, seq }));

test('fromHeld takes, per origin, the longest run of seqs from 1, in any order', () => {
  const vv = VersionVector.fromHeld([...held(2, 3, 1, 2), ...held(1, 1), ...held(2, 4)]);
  assert.equal(vv.get(1), 1);
  assert.equal(vv.get(2), 4);
  assert.equal(vv.get(3), 0);
  assert.deepEqual(vv.entries(), [{ origin: 1, seq: 1 }, { origin: 2, seq: 4 }]);
});

test('a gap stops the watermark, so held seqs past it are not claimed', () => {
  const vv = VersionVector.fromHeld([...held(1, 1, 2, 4, 5, 6), ...held(2, 2, 3), ...held(3, 1, 1, 2)]);
  assert.equal(vv.get(1), 2);
  assert.equal(vv.covers(1, 2), true);
  assert.equal(vv.covers(1, 3), false, 'the missing write');
  assert.equal(vv.covers(1, 5), false, 'held, but past the gap');
  assert.equal(vv.get(2), 0, 'seq 1 missing: nothing claimed');
  assert.equal(vv.get(3), 2, 'a repeated seq counts once');
  assert.deepEqual(vv.entries(), [{ origin: 1, seq: 2 }, { origin: 3, seq: 2 }]);
});

test('seq 0 (a preloaded record) neither raises a watermark nor is ever covered', () => {
  const vv = VersionVector.fromHeld([...held(1, 0, 0), ...held(2, 0, 1)]);
  assert.equal(vv.get(1), 0);
  assert.equal(vv.get(2), 1);
  assert.deepEqual(vv.entries(), [{ origin: 2, seq: 1 }]);
  assert.equal(vv.covers(2, 0), false);
  assert.equal(vv.covers(2, 1), true);
  assert.equal(VersionVector.fromEntries([{ origin: 2, seq: 0 }]).covers(2, 0), false);
});

test('a vector from held writes claims only writes that are held', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = prng(seed);
    const entries: VvEntry[] = [];
    for (let i = Math.floor(random() * 60); i > 0; i--) {
      entries.push({ origin: Math.floor(random() * 4), seq: Math.floor(random() * 12) });
    }
    const vv = VersionVector.fromHeld(entries);
    for (let origin = 0; origin < 4; origin++) {
      const seqs = new Set(entries.filter((e) => e.origin === origin).map((e) => e.seq));
      let expected = 0;
      while (seqs.has(expected + 1)) expected++;
      assert.equal(vv.get(origin), expected, `seed=${seed} origin=${origin}`);
      for (let seq = 0; seq <= 13; seq++) {
        assert.equal(vv.covers(origin, seq), seq >= 1 && seq <= expected, `seed=${seed} origin=${origin} seq=${seq}`);
        if (vv.covers(origin, seq)) assert.ok(seqs.has(seq), `seed=${seed}: covers an unheld write`);
      }
    }
  }
});

test('mergeMax raises each watermark to the higher of the two', () => {
  const a = VersionVector.fromEntries([{ origin: 1, seq: 5 }, { origin: 2, seq: 1 }]);
  const b = VersionVector.fromEntries([{ origin: 2, seq: 7 }, { origin: 3, seq: 2 }, { origin: 1, seq: 4 }]);
  a.mergeMax(b);
  assert.deepEqual(a.entries(), [{ origin: 1, seq: 5 }, { origin: 2, seq: 7 }, { origin: 3, seq: 2 }]);
  assert.deepEqual(b.entries(), [{ origin: 1, seq: 4 }, { origin: 2, seq: 7 }, { origin: 3, seq: 2 }], 'other unchanged');
});

test('entries are sorted by origin and round-trip through fromEntries', () => {
  const vv = VersionVector.fromEntries([{ origin: 65535, seq: 1 }, { origin: 0, seq: 2 ** 40 }, { origin: 9, seq: 3 }]);
  assert.deepEqual(vv.entries().map((e) => e.origin), [0, 9, 65535]);
  assert.deepEqual(VersionVector.fromEntries(vv.entries()).entries(), vv.entries());
});

test('fromEntries rejects bad entries with errors naming them', () => {
  const bad: [VvEntry[], RegExp][] = [
    [[{ origin: 1.5, seq: 1 }], /entry 0 \{"origin":1.5,"seq":1\}: origin must be an integer in 0\.\.65535/],
    [[{ origin: 1, seq: 1 }, { origin: 65536, seq: 1 }], /entry 1 \{"origin":65536,"seq":1\}: origin/],
    [[{ origin: -1, seq: 1 }], /entry 0 .*origin/],
    [[{ origin: 1, seq: -1 }], /entry 0 \{"origin":1,"seq":-1\}: seq must be a safe integer >= 0/],
    [[{ origin: 1, seq: 0.5 }], /seq must be/],
    [[{ origin: 1, seq: 2 ** 53 }], /seq must be/],
    [[{ origin: 4, seq: 1 }, { origin: 4, seq: 2 }], /entry 1 repeats origin 4/],
  ];
  for (const [entries, message] of bad) {
    assert.throws(() => VersionVector.fromEntries(entries), (e: unknown) => e instanceof RangeError && message.test(e.message));
  }
  assert.throws(() => VersionVector.fromHeld([{ origin: 70000, seq: 1 }]), RangeError);
});
