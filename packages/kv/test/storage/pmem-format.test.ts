import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { after, test } from 'node:test';
import { PmemStorage, type KeyRecord } from '../../src/index.js';
import {
  createPmemFile,
  formatPmemFile,
  PMEM_COPY_CAPACITY_MIN,
} from '../../src/storage/pmem-format.js';
import { assertSameRecords, rec, tempDir } from './helpers.js';

const tmp = tempDir('pmem-format');
after(() => tmp.cleanup());
const LARGE = { capacity: PMEM_COPY_CAPACITY_MIN, valueMaxBytes: 64 };
const empties = (): string[] => readdirSync(tmp.dir).filter((f) => f.startsWith('empty-'));

test('a large table is a copy of one formatted once, byte for byte what formatting gives', () => {
  formatPmemFile(tmp.path('formatted.pmem'), LARGE, undefined);
  const image = createPmemFile(tmp.path('a.pmem'), LARGE, undefined);
  assert.ok(image !== undefined && empties().length === 1, 'the empty table was formatted');
  const builtMs = statSync(image).mtimeMs;
  assert.equal(createPmemFile(tmp.path('b.pmem'), LARGE, undefined), image);
  assert.equal(statSync(image).mtimeMs, builtMs, 'copied, not formatted again');
  const formatted = readFileSync(tmp.path('formatted.pmem'));
  assert.deepEqual(readFileSync(tmp.path('a.pmem')), formatted);
  assert.deepEqual(readFileSync(tmp.path('b.pmem')), formatted);
  assert.equal(createPmemFile(tmp.path('small.pmem'), { capacity: 64 }, undefined), undefined);
  assert.equal(empties().length, 1, 'a small table is formatted in place');
});

test('a crash of a large table (its durable image read from the empty one) loses what was not synced, round after round', () => {
  for (const crashMode of ['strict', 'adversarial'] as const) {
    const pm = new PmemStorage(tmp.path(`crash-${crashMode}.pmem`), { layout: LARGE, crashMode });
    const model = new Map<string, KeyRecord>();
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 20; i++) {
        const r = rec(`k${(round * 37 + i * 101) % 500}`, round * 100 + i);
        pm.write(r);
        model.set(r.key, r);
      }
      pm.sync();
      pm.write(rec(`lost${round}`, round));
      pm.crash(round);
      assertSameRecords(pm.records(), model.values(), `${crashMode} round ${round}`);
      assert.deepEqual(pm.recovery.corrupt, []);
    }
    pm.close();
  }
  formatPmemFile(tmp.path('reference.pmem'), LARGE, undefined);
  assert.deepEqual(
    readFileSync(tmp.path(empties()[0] as string)),
    readFileSync(tmp.path('reference.pmem')),
    'the empty table is unchanged',
  );
});

test('a large table in memory keeps no file, leaves its images as they were, and survives crashes as one on a file', () => {
  const layout = { ...LARGE, capacity: PMEM_COPY_CAPACITY_MIN + 100 };
  const dataset = { keys: PMEM_COPY_CAPACITY_MIN, valueSizes: { bytes: [24], weights: [1] } };
  const images = (): Map<string, Buffer> =>
    new Map(
      readdirSync(tmp.dir)
        .filter((f) => f.endsWith('.pmem-image'))
        .map((f) => [f, readFileSync(tmp.path(f))]),
    );
  for (const crashMode of ['strict', 'adversarial'] as const) {
    const onFile = new PmemStorage(tmp.path(`file-${crashMode}.pmem`), { layout, crashMode });
    onFile.writeDataset(dataset);
    const before = images();
    const path = tmp.path(`memory-${crashMode}.pmem`);
    const inMemory = new PmemStorage(path, { layout, crashMode, inMemory: true });
    inMemory.writeDataset(dataset);
    for (let round = 0; round < 4; round++) {
      for (const pm of [onFile, inMemory]) {
        for (let i = 0; i < 20; i++)
          pm.write(rec(`k${(round * 37 + i * 101) % 500}`, round * 100 + i));
        pm.sync();
        pm.write(rec(`lost${round}`, round));
        pm.crash(round);
      }
      assertSameRecords(inMemory.records(), onFile.records(), `${crashMode} round ${round}`);
      assert.equal(inMemory.recovery.crash?.mode, crashMode);
    }
    assert.equal(existsSync(path), false, 'nothing was written at the path');
    assert.deepEqual(images(), before, 'the images it started from are unchanged');
    onFile.close();
    inMemory.close();
  }
});

test('inMemory opens an existing file as a file', () => {
  const path = tmp.path('existing.pmem');
  new PmemStorage(path, { layout: LARGE }).close();
  const pm = new PmemStorage(path, { layout: LARGE, inMemory: true });
  pm.write(rec('k', 1));
  pm.sync();
  pm.close();
  assertSameRecords(new PmemStorage(path, { layout: LARGE }).records(), [rec('k', 1)]);
});
