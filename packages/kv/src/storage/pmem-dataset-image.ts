import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { fnv1a32 } from '@heal/base';
import { datasetRecords, type DatasetSpec } from './dataset.js';
import type { KvStorage } from './kv-storage.js';

/** Part of an image's name: a new table format must not reuse an older image. */
const PMEM_IMAGE_FORMAT = 3;

/**
 * The path of a pmem table in `dir` that holds `dataset` and nothing else, in a table of
 * `layout`, built with `create` (a new pmem table at a path) if no earlier replica or run left
 * one there. Its name is a hash of what it holds. Built under a name of its own and renamed into
 * place: replicas starting at once in other threads may build it too, and every one they rename
 * into place is whole.
 */
export function pmemDatasetImage(
  dir: string,
  dataset: DatasetSpec,
  layout: Readonly<Record<string, number>>,
  create: (path: string) => Pick<KvStorage, 'write' | 'close'>,
): string {
  const id = fnv1a32(JSON.stringify({ format: PMEM_IMAGE_FORMAT, dataset, layout })) >>> 0;
  const image = join(dir, `dataset-${id.toString(16).padStart(8, '0')}.pmem-image`);
  if (existsSync(image)) return image;
  const temp = `${image}.${process.pid}.${threadId}.tmp`;
  const builder = create(temp);
  for (const record of datasetRecords(dataset)) builder.write(record);
  builder.close();
  renameSync(temp, image);
  return image;
}
