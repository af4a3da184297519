import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  createStorage,
  datasetKey,
  datasetRecords,
  datasetValue,
  PmemStorage,
  prepareDatasetImage,
  replicaConfigOf,
  THREAD_TIMING,
  type DatasetSpec,
} from '../../src/index.js';
import { PMEM_IMAGE_KEYS_MIN } from '../../src/storage/pmem-dataset-image.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('dataset-image');
after(() => tmp.cleanup());

const DATASET: DatasetSpec = {
  keys: PMEM_IMAGE_KEYS_MIN,
  valueSizes: { bytes: [40, 200], weights: [3, 1] },
};
const LAYOUT = { layout: { capacity: PMEM_IMAGE_KEYS_MIN + 16, valueMaxBytes: 256 } };
const images = (): string[] =>
  readdirSync(tmp.dir).filter((f) => f.startsWith('dataset-') && f.endsWith('.pmem-image'));

test('writeDataset copies one image per dataset and layout; the tables equal one written record by record', () => {
  const byRecord = new PmemStorage(tmp.path('by-record.pmem'), LAYOUT);
  for (const record of datasetRecords(DATASET)) byRecord.write(record);
  byRecord.sync();

  const first = new PmemStorage(tmp.path('r0.pmem'), LAYOUT);
  first.writeDataset(DATASET);
  assert.equal(images().length, 1, 'the first table built the image');
  const image = tmp.path(images()[0] as string);
  const builtMs = statSync(image).mtimeMs;
  const second = new PmemStorage(tmp.path('r1.pmem'), LAYOUT);
  second.writeDataset(DATASET);
  assert.deepEqual(images(), [images()[0]], 'the second copied it');
  assert.equal(statSync(image).mtimeMs, builtMs);

  for (const table of [first, second]) {
    assert.equal(table.size, DATASET.keys);
    assert.deepEqual(table.loadDigest(), byRecord.loadDigest());
    for (const index of [0, 1, 1_234, DATASET.keys - 1]) {
      const record = table.get(datasetKey(index));
      assert.equal(record?.value, datasetValue(DATASET, index));
      assert.deepEqual(record, byRecord.get(datasetKey(index)));
    }
    assert.throws(() => table.writeDataset(DATASET), /is not a new table/);
    table.crash(7);
    assert.equal(table.size, DATASET.keys, 'the copy is durable: a power failure keeps it');
    table.close();
  }

  const other = new PmemStorage(tmp.path('r2.pmem'), { layout: { capacity: 2 * DATASET.keys } });
  other.writeDataset(DATASET);
  assert.equal(images().length, 2, 'another layout has an image of its own');
  other.close();
  byRecord.close();
});

test('a dataset below PMEM_IMAGE_KEYS_MIN is written record by record, with no image', () => {
  const small: DatasetSpec = { keys: 500, valueSizes: { bytes: [40], weights: [1] } };
  const before = images().length;
  const table = new PmemStorage(tmp.path('small.pmem'), LAYOUT);
  table.writeDataset(small);
  assert.equal(table.size, small.keys);
  assert.equal(table.get(datasetKey(499))?.value, datasetValue(small, 499));
  assert.equal(images().length, before);
  table.crash(3);
  assert.equal(table.size, small.keys, 'synced: a power failure keeps it');
  table.close();
});

test('prepareDatasetImage builds the image replicas of a config copy, once, and nothing else', () => {
  const dataDir = tmp.path('prepared');
  const config = replicaConfigOf(3, THREAD_TIMING, {
    medium: 'pmem',
    dataDir,
    dataset: DATASET,
    pmemCapacity: DATASET.keys + 16,
  });
  prepareDatasetImage(config);
  const built = readdirSync(dataDir).sort();
  assert.equal(built.length, 2, `only the images are left: ${built.join(', ')}`);
  assert.match(built[0] as string, /^dataset-.*\.pmem-image$/);
  assert.match(built[1] as string, /^empty-.*\.pmem-image$/, 'and the empty table it was built on');
  const builtMs = statSync(join(dataDir, built[0] as string)).mtimeMs;
  prepareDatasetImage(config);
  const replica = createStorage(0, config);
  replica.writeDataset?.(DATASET);
  assert.equal(replica.size, DATASET.keys);
  replica.close();
  assert.equal(statSync(join(dataDir, built[0] as string)).mtimeMs, builtMs, 'copied, not rebuilt');
  const small = tmp.path('small-prepared');
  prepareDatasetImage({ ...config, dataDir: small, dataset: { ...DATASET, keys: 10 } });
  prepareDatasetImage({ ...config, medium: 'wal', dataDir: small });
  assert.equal(existsSync(small), false, 'no image below the floor, none for other media');
});
