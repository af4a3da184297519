import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { PmemError, PmemRegion, SimulatedCrash, type CrashReport } from '../src/index.js';
import { FAST, tempDir } from './helpers.js';

const tmp = tempDir('crash');
after(() => tmp.cleanup());
let n = 0;
const fresh = (): string => tmp.file(`c${n++}`);
const SIZE = 64 * 64; // 64 lines

/** Lines 0-15 fenced with 0x11, lines 16-31 flushed (unfenced) with 0x22, lines 32-47 dirty with 0x33. */
function prepare(path: string): PmemRegion {
  const r = PmemRegion.create(path, SIZE, FAST);
  r.view.fill(0x11, 0, 1024);
  r.persist(0, 1024);
  r.view.fill(0x22, 1024, 2048);
  r.flush(1024, 1024);
  r.view.fill(0x33, 2048, 3072);
  return r;
}

test('strict crash keeps only fenced lines, and reopening yields exactly that image', () => {
  const path = fresh();
  const report = prepare(path).crash({ mode: 'strict', seed: 1 });
  const expected = Buffer.alloc(SIZE);
  expected.fill(0x11, 0, 1024);
  assert.deepEqual(PmemRegion.open(path, FAST).view, expected);
  assert.deepEqual(
    [report.flushedDropped, report.dirtyDropped, report.flushedKept, report.dirtyKept],
    [16, 16, 0, 0],
  );
});

test('a line stored to again after its fence reverts to the fenced content in a strict crash', () => {
  const path = fresh();
  const r = PmemRegion.create(path, SIZE, FAST);
  r.view.fill(1, 0, 64);
  r.persist(0, 64);
  r.view.fill(2, 0, 64);
  r.crash({ mode: 'strict', seed: 0 });
  assert.deepEqual(PmemRegion.open(path, FAST).view.subarray(0, 64), Buffer.alloc(64, 1));
});

function lineOutcome(
  view: Buffer,
  line: number,
  oldByte: number,
  newByte: number,
): 'kept' | 'dropped' | 'torn' {
  const bytes = view.subarray(line * 64, line * 64 + 64);
  for (let w = 0; w < 64; w += 8) {
    const word = bytes.subarray(w, w + 8);
    assert.ok(
      word.every((b) => b === word[0]),
      `line ${line} word ${w / 8} tore inside the word`,
    );
    assert.ok(
      word[0] === oldByte || word[0] === newByte,
      `line ${line} holds a byte never written`,
    );
  }
  if (bytes.every((b) => b === newByte)) return 'kept';
  if (bytes.every((b) => b === oldByte)) return 'dropped';
  return 'torn';
}

test('adversarial crash keeps fenced lines, and keeps, drops or tears (by 8-byte word) the rest', () => {
  const seen = new Set<string>();
  for (let seed = 0; seed < 8; seed++) {
    const path = fresh();
    const report = prepare(path).crash({ mode: 'adversarial', seed });
    const view = PmemRegion.open(path, FAST).view;
    const count = {
      flushed: { kept: 0, dropped: 0, torn: 0 },
      dirty: { kept: 0, dropped: 0, torn: 0 },
    };
    for (let line = 0; line < 16; line++)
      assert.equal(lineOutcome(view, line, 0, 0x11), 'kept', 'fenced lines survive');
    for (let line = 16; line < 32; line++) count.flushed[lineOutcome(view, line, 0, 0x22)]++;
    for (let line = 32; line < 48; line++) count.dirty[lineOutcome(view, line, 0, 0x33)]++;
    assert.ok(
      view.subarray(3072).every((b) => b === 0),
      'untouched lines stay untouched',
    );
    assert.deepEqual(count, {
      flushed: {
        kept: report.flushedKept,
        dropped: report.flushedDropped,
        torn: report.flushedTorn,
      },
      dirty: { kept: report.dirtyKept, dropped: report.dirtyDropped, torn: report.dirtyTorn },
    });
    for (const [kind, c] of Object.entries(count))
      for (const [k, v] of Object.entries(c)) if (v > 0) seen.add(`${kind}-${k}`);
  }
  assert.equal(seen.size, 6, `every outcome occurs over 8 seeds: ${[...seen].join(',')}`);
});

test('the same seed yields the same adversarial image; another seed a different one', () => {
  const images = [3, 3, 4].map((seed) => {
    const path = fresh();
    prepare(path).crash({ mode: 'adversarial', seed });
    return PmemRegion.open(path, FAST).view;
  });
  assert.deepEqual(images[0], images[1]);
  assert.notDeepEqual(images[0], images[2]);
});

test('an armed crash strikes in place of the chosen fence and closes the region', () => {
  const path = fresh();
  const r = PmemRegion.create(path, SIZE, FAST);
  r.armCrash({ mode: 'strict', seed: 9, beforeFence: 2 });
  r.view[0] = 1;
  r.persist(0, 1);
  r.view[64] = 2;
  r.persist(64, 1);
  r.view[128] = 3;
  let report: CrashReport | undefined;
  assert.throws(
    () => r.persist(128, 1),
    (e: unknown) => {
      report = (e as SimulatedCrash).report;
      return e instanceof SimulatedCrash;
    },
  );
  assert.equal(report?.flushedDropped, 1);
  assert.throws(
    () => r.persist(0, 1),
    (e: PmemError) => e.code === 'ERR_PMEM_CLOSED' && /crashed/.test(e.message),
  );
  const view = PmemRegion.open(path, FAST).view;
  assert.deepEqual([view[0], view[64], view[128]], [1, 2, 0]);
});

test('a crash armed by event can strike between a flush and its fence', () => {
  const path = fresh();
  const r = PmemRegion.create(path, SIZE, FAST);
  r.armCrash({ mode: 'strict', seed: 1, beforeEvent: 1 }); // event 0: the flush; event 1: the fence
  r.view[0] = 7;
  assert.throws(() => r.persist(0, 1), SimulatedCrash);
  assert.equal(PmemRegion.open(path, FAST).view[0], 0);
});

test('armCrash and crash validate their options', () => {
  const r = PmemRegion.create(fresh(), SIZE, FAST);
  assert.throws(
    () => r.armCrash({ mode: 'strict', seed: 1 }),
    /exactly one of beforeFence, beforeEvent/,
  );
  assert.throws(
    () => r.armCrash({ mode: 'strict', seed: 1, beforeFence: -1 }),
    /beforeFence must be an integer >= 0/,
  );
  assert.throws(() => r.crash({ mode: 'gentle' as never, seed: 1 }), /crash mode must be/);
});
