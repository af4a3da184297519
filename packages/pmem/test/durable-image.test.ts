import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { Prng } from '@heal/base';
import {
  DURABLE_PAGE_LINES,
  DurableImage,
  ImageBase,
  PmemRegion,
  type CrashMode,
  type CrashReport,
} from '../src/index.js';
import { FAST, tempDir } from './helpers.js';

const tmp = tempDir('durable-image');
after(() => tmp.cleanup());
let n = 0;
const fresh = (): string => tmp.file(`d${n++}`);
const LINES = 5 * DURABLE_PAGE_LINES + 7; // a last page with fewer lines
const SIZE = LINES * 64;
const WORDS = SIZE / 4;

/** A file of random content: the immutable image the regions' files are copies of. */
function image(seed: number): string {
  const path = fresh();
  const r = PmemRegion.create(path, SIZE, { ...FAST, crashable: false });
  const random = new Prng(seed);
  for (let i = 0; i < SIZE; i += 4) r.view.writeInt32LE(random.int(2 ** 31), i);
  r.close();
  return path;
}

/** Random stores, flushes and fences, the same for every region given the same seed. */
function work(r: PmemRegion, seed: number, steps: number): void {
  const random = new Prng(seed);
  for (let i = 0; i < steps; i++) {
    const line = random.int(LINES);
    const lines = 1 + random.int(random.chance(0.1) ? 2 * DURABLE_PAGE_LINES : 3);
    const bytes = Math.min(lines, LINES - line) * 64;
    r.view.fill(random.int(256), line * 64, line * 64 + bytes);
    if (random.chance(0.7)) r.flush(line * 64, bytes);
    if (random.chance(0.3)) r.fence();
  }
}

test('a durable image over a shared base reads it, and copies a page only when a line of it is written', () => {
  const base = ImageBase.of(image(1));
  const d = DurableImage.over(base);
  assert.equal(d.words, WORDS);
  const page1 = d.page(1);
  assert.equal(page1.words, base.words, 'read from the base, not a copy');
  const lines = new Int32Array(WORDS).fill(7);
  d.copyLines(lines, DURABLE_PAGE_LINES + 3, 2);
  assert.equal(d.copiedPages, 1);
  const own = d.page(1);
  assert.notEqual(own.words, base.words);
  const at = (line: number, word: number): number =>
    own.words[own.at + (line - DURABLE_PAGE_LINES) * 16 + word] as number;
  assert.equal(at(DURABLE_PAGE_LINES + 3, 0), 7);
  assert.equal(at(DURABLE_PAGE_LINES + 4, 15), 7);
  assert.equal(
    at(DURABLE_PAGE_LINES + 5, 0),
    base.words[(DURABLE_PAGE_LINES + 5) * 16],
    'the rest of the page copied from the base',
  );
  assert.notEqual(base.words[(DURABLE_PAGE_LINES + 3) * 16], 7, 'the base is never written');
  assert.equal(ImageBase.of(base.path), base, 'one base per image while it is held');
});

test('a new region copies nothing until a fence, then only the pages written', () => {
  const d = DurableImage.zeroed(WORDS);
  assert.equal(
    d.page(0).words.every((w) => w === 0),
    true,
  );
  d.copyLines(new Int32Array(WORDS).fill(1), 0, 1);
  assert.equal(d.copiedPages, 1);
});

for (const mode of ['strict', 'adversarial'] as CrashMode[]) {
  test(`regions over a shared image, on a file or in memory, crash (${mode}) exactly as one holding a copy`, () => {
    for (let seed = 1; seed <= 12; seed++) {
      const img = image(100 + seed);
      const original = readFileSync(img);
      const base = ImageBase.of(img);
      const shared = fresh();
      const copied = fresh();
      copyFileSync(img, shared);
      copyFileSync(img, copied);
      // On a copy of the image reading its durable image there; in memory over the image
      // itself; on a copy holding a copy of its file (the reference).
      let ra = PmemRegion.open(shared, { ...FAST, durableBase: img });
      let rm = PmemRegion.openCopyOnWrite(img, FAST);
      let rb = PmemRegion.open(copied, FAST);
      const reports: CrashReport[][] = [];
      for (let round = 0; round < 3; round++) {
        for (const r of [ra, rm, rb]) work(r, seed * 10 + round, 60);
        const crash = { mode, seed: seed * 7 + round };
        reports.push([ra.crash(crash), rm.crash(crash), rb.crash(crash)]);
        const expected = readFileSync(copied);
        const where = `seed ${seed}, round ${round}`;
        assert.deepEqual(readFileSync(shared), expected, `${where}: the file after the crash`);
        assert.deepEqual(rm.view, expected, `${where}: the memory after the crash`);
        // The shared ones take their image over; the reference copies its file again.
        ra = PmemRegion.open(shared, { ...FAST, durable: ra.crashedImage() });
        rm = rm.reopen(FAST);
        rb = PmemRegion.open(copied, FAST);
        assert.deepEqual(rm.view, expected, `${where}: the memory reopened`);
      }
      for (const [x, ...others] of reports)
        for (const y of others) assert.deepEqual(y, x, `seed ${seed}: the crash reports`);
      assert.ok(
        reports.some(
          ([x]) => (x as CrashReport).flushedDropped + (x as CrashReport).dirtyDropped > 0,
        ),
        `seed ${seed}: some crash dropped a line (the test exercises the image)`,
      );
      for (const r of [ra, rm, rb]) r.close();
      assert.deepEqual(readFileSync(img), original, 'the image file is unchanged');
      assert.deepEqual(
        Buffer.from(base.words.buffer, base.words.byteOffset, SIZE),
        original,
        'so is its shared base',
      );
    }
  });
}

test('a region in memory is only reopened after a crash, and only emulates durability', () => {
  const img = image(7);
  const r = PmemRegion.openCopyOnWrite(img, FAST);
  assert.throws(() => r.reopen(), /crashed region in memory/);
  r.close();
  assert.throws(
    () => PmemRegion.openCopyOnWrite(img, { ...FAST, durability: 'msync' }),
    /'emulated' in memory/,
  );
  const onFile = PmemRegion.create(fresh(), SIZE, FAST);
  onFile.crash({ mode: 'strict', seed: 1 });
  assert.throws(() => onFile.reopen(), /crashed region in memory/, 'a file is opened again');
});

test('crashedImage is only for a crashed region', () => {
  const r = PmemRegion.create(fresh(), SIZE, FAST);
  assert.throws(() => r.crashedImage(), /crashed region/);
  r.close();
});
