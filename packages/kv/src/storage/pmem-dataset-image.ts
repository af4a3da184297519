import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { fnv1a32 } from '@heal/base';
import { datasetRecords, type DatasetSpec } from './dataset.js';
import type { KvStorage } from './kv-storage.js';

/** Part of an image's name: a new table format must not reuse an older image. */
const PMEM_IMAGE_FORMAT = 3;
/**
 * Smallest dataset a pmem table copies an image of: below, building and copying a table costs
 * more than writing the records (simulations of a few hundred keys run thousands of times).
 */
export const PMEM_IMAGE_KEYS_MIN = 10_000;

/** What an image's table is created with: the layout fields a new table takes. */
export interface ImageLayout {
  capacity: number;
  keyMaxBytes: number;
  valueMaxBytes: number;
  metaBytes: number;
}

/**
 * The path of a pmem table in `dir` that holds `dataset` and nothing else, in a table of the
 * layout `of` has, built with `create` (a new pmem table at a path, of a layout) if no earlier
 * replica or run left one there (pmemImage).
 */
export function pmemDatasetImage(
  dir: string,
  dataset: DatasetSpec,
  of: ImageLayout & { fingerprintBuckets: number },
  create: (path: string, layout: ImageLayout) => Pick<KvStorage, 'write' | 'close'>,
): string {
  const { capacity, keyMaxBytes, valueMaxBytes, metaBytes, fingerprintBuckets } = of;
  const layout = { capacity, keyMaxBytes, valueMaxBytes, metaBytes };
  return pmemImage(dir, 'dataset', { dataset, layout, fingerprintBuckets }, (temp) => {
    const builder = create(temp, layout);
    for (const record of datasetRecords(dataset)) builder.write(record);
    builder.close();
  });
}

/**
 * The path of an immutable pmem image in `dir`, `<kind>-<hash>.pmem-image`, named by a hash of
 * what it holds (`named`, with the table format), built by `build` (given a path to create) if
 * no earlier replica or run left one there. Built under a name of its own and renamed into
 * place: replicas starting at once in other threads may build it too, and every one they rename
 * into place is whole.
 */
export function pmemImage(
  dir: string,
  kind: 'dataset' | 'empty',
  named: object,
  build: (temp: string) => void,
): string {
  const id = fnv1a32(JSON.stringify({ format: PMEM_IMAGE_FORMAT, ...named })) >>> 0;
  const image = join(dir, `${kind}-${id.toString(16).padStart(8, '0')}.pmem-image`);
  if (existsSync(image)) return image;
  const temp = `${image}.${process.pid}.${threadId}.tmp`;
  build(temp);
  renameSync(temp, image);
  return image;
}
