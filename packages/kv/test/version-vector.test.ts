import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '@heal/base';
import { VersionVector, VV_INTERVALS_PER_ORIGIN_MAX, type VvInterval } from '../src/index.js';

test('a vector covers exactly the writes added, in any order, as merged intervals', () => {
  const vv = new VersionVector();
  for (const seq of [3, 1, 2, 7, 5, 6, 10]) vv.add(4, seq);
  vv.add(9, 1);
  assert.deepEqual(vv.intervals(), [
    { origin: 4, from: 1, to: 3 },
    { origin: 4, from: 5, to: 7 },
    { origin: 4, from: 10, to: 10 },
    { origin: 9, from: 1, to: 1 },
  ]);
  for (let seq = 0; seq <= 11; seq++)
    assert.equal(vv.covers(4, seq), [1, 2, 3, 5, 6, 7, 10].includes(seq), `seq ${seq}`);
  assert.equal(vv.covers(5, 1), false, 'an origin never added');
  vv.add(4, 4);
  vv.add(4, 8);
  vv.add(4, 9);
  assert.deepEqual(
    vv.intervals().filter((iv) => iv.origin === 4),
    [{ origin: 4, from: 1, to: 10 }],
    'gaps filled merge',
  );
});

test('seq 0 (a preloaded record) is never added nor covered', () => {
  const vv = new VersionVector();
  vv.add(1, 0);
  assert.equal(vv.size, 0);
  assert.equal(vv.covers(1, 0), false);
});

test('a vector claims a subset of what was added, all of it while under its bound', () => {
  let exact = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const prng = new Prng(seed);
    const vv = new VersionVector();
    const added = new Map<number, Set<number>>();
    /** Per origin, the most intervals the added seqs formed at any point. */
    const peakRuns = new Map<number, number>();
    const spread = 1 + prng.int(120);
    for (let i = prng.int(300); i > 0; i--) {
      const origin = prng.int(3);
      const seq = 1 + prng.int(spread);
      vv.add(origin, seq);
      let seqs = added.get(origin);
      if (!seqs) added.set(origin, (seqs = new Set()));
      seqs.add(seq);
      let runs = 0;
      for (const s of seqs) if (!seqs.has(s - 1)) runs++;
      peakRuns.set(origin, Math.max(peakRuns.get(origin) ?? 0, runs));
    }
    for (let origin = 0; origin < 3; origin++) {
      const seqs = added.get(origin) ?? new Set<number>();
      assert.ok(
        vv.intervals().filter((iv) => iv.origin === origin).length <= VV_INTERVALS_PER_ORIGIN_MAX,
        `seed=${seed}`,
      );
      // Past the bound at some point, intervals were dropped; otherwise none.
      const runs = peakRuns.get(origin) ?? 0;
      if (runs <= VV_INTERVALS_PER_ORIGIN_MAX) exact++;
      for (let seq = 0; seq <= spread + 1; seq++) {
        const covered = vv.covers(origin, seq);
        if (covered)
          assert.ok(seqs.has(seq), `seed=${seed} origin=${origin}: covers ${seq}, never added`);
        else if (runs <= VV_INTERVALS_PER_ORIGIN_MAX)
          assert.ok(!seqs.has(seq), `seed=${seed} origin=${origin}: ${seq} added, not covered`);
      }
    }
  }
  assert.ok(exact > 300 && exact < 900, `both regimes ran: ${exact} of 900 exact`);
});

test('encode and decode round-trip; a damaged encoding is refused, naming what is wrong', () => {
  const vv = new VersionVector();
  for (const [o, s] of [
    [0, 1],
    [0, 2],
    [3, 2 ** 40],
    [65535, 9],
  ] as const)
    vv.add(o, s);
  const bytes = vv.encode();
  assert.deepEqual(VersionVector.decode(bytes).intervals(), vv.intervals());
  assert.deepEqual(VersionVector.decode(new VersionVector().encode()).intervals(), []);
  assert.throws(
    () => VersionVector.decode(bytes.subarray(0, 3)),
    /3 bytes, shorter than its count/,
  );
  assert.throws(
    () => VersionVector.decode(bytes.subarray(0, bytes.length - 1)),
    /bytes for 3 intervals/,
  );
  const swapped = VersionVector.fromIntervals([
    { origin: 1, from: 5, to: 6 },
    { origin: 2, from: 1, to: 1 },
  ]).encode();
  swapped[4] = 9; // the first interval's origin now follows the second's
  assert.throws(() => VersionVector.decode(swapped), /interval 1 .*must come after interval 0/);
});

test('fromIntervals takes only the canonical form and names the first bad interval', () => {
  const bad: [VvInterval[], RegExp][] = [
    [[{ origin: 1.5, from: 1, to: 1 }], /interval 0 .*origin must be an integer in 0\.\.65535/],
    [[{ origin: 1, from: 0, to: 1 }], /interval 0 .*from must be a safe integer >= 1/],
    [[{ origin: 1, from: 4, to: 3 }], /interval 0 .*to must be a safe integer >= from/],
    [
      [
        { origin: 1, from: 1, to: 3 },
        { origin: 1, from: 4, to: 5 },
      ],
      /interval 1 .*not adjacent/,
    ],
    [
      [
        { origin: 1, from: 5, to: 6 },
        { origin: 1, from: 1, to: 2 },
      ],
      /interval 1 .*must come after/,
    ],
  ];
  for (const [intervals, message] of bad)
    assert.throws(() => VersionVector.fromIntervals(intervals), message);
  const many = Array.from({ length: VV_INTERVALS_PER_ORIGIN_MAX + 1 }, (_, i) => ({
    origin: 2,
    from: 3 * i + 1,
    to: 3 * i + 1,
  }));
  assert.throws(() => VersionVector.fromIntervals(many), /origin 2 has more than 16 intervals/);
});
