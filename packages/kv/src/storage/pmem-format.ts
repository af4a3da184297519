import { copyFileSync, closeSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { LATENCY_OFF, PmemRegion, PTable, type PTableLayout, type RegionOptions } from '@heal/pmem';
import { DIGEST_BUCKETS_DEFAULT } from '../digest/bucket-digest.js';
import { fsyncDir } from './checkpoint.js';
import { pmemImage } from './pmem-dataset-image.js';
import { PMEM_META_BYTES } from './pmem-meta.js';

/** Layout of a new table (an existing file keeps the layout it was formatted with). */
export const PMEM_CAPACITY_DEFAULT = 16_384;
export const PMEM_KEY_BYTES_MAX_DEFAULT = 64;
export const PMEM_VALUE_BYTES_MAX_DEFAULT = 512;

/** The layout a new table of `layout` gets: the defaults above, and the digest's buckets. */
export function resolvePmemLayout(
  layout: Partial<PTableLayout> | undefined,
): Required<PTableLayout> {
  return {
    capacity: layout?.capacity ?? PMEM_CAPACITY_DEFAULT,
    keyMaxBytes: layout?.keyMaxBytes ?? PMEM_KEY_BYTES_MAX_DEFAULT,
    valueMaxBytes: layout?.valueMaxBytes ?? PMEM_VALUE_BYTES_MAX_DEFAULT,
    metaBytes: layout?.metaBytes ?? PMEM_META_BYTES,
    fingerprintBuckets: DIGEST_BUCKETS_DEFAULT,
  };
}

/**
 * Creates the `pmem` medium's file at `path` (see pmem-storage.ts): a PTable of `layout` (the
 * defaults above for what it leaves out) with the digest's fingerprint buckets, formatted under
 * a temporary name, made durable and renamed into place, so a crash while creating it never
 * leaves a half-formatted table behind.
 */
export function formatPmemFile(
  path: string,
  layout: Partial<PTableLayout> | undefined,
  region: RegionOptions | undefined,
): void {
  const resolved = resolvePmemLayout(layout);
  const temp = `${path}.tmp`;
  rmSync(temp, { force: true });
  const created = PmemRegion.create(temp, PTable.bytesFor(resolved), {
    ...region,
    latency: LATENCY_OFF,
  });
  PTable.format(created, resolved); // formatting is setup, not measured: no latency model
  created.close();
  syncAndRename(temp, path);
}

/**
 * Smallest table (records it holds) created as a copy of a formatted one instead of formatted:
 * formatting a million-record table took 1.4 s here, copying it 0.15 s.
 */
export const PMEM_COPY_CAPACITY_MIN = 10_000;

/**
 * Creates the `pmem` medium's file at `path`, as formatPmemFile does; a large table is a copy
 * of the empty table of its layout (pmemEmptyImage), whose path it returns: the region opened on
 * the copy reads its durable image there (PmemRegion.open's `durableBase`) instead of copying
 * the file.
 */
export function createPmemFile(
  path: string,
  layout: Partial<PTableLayout> | undefined,
  region: RegionOptions | undefined,
): string | undefined {
  if (!copiesEmptyImage(layout)) {
    formatPmemFile(path, layout, region);
    return undefined;
  }
  const image = pmemEmptyImage(dirname(path), layout, region);
  const temp = `${path}.tmp`;
  copyFileSync(image, temp);
  syncAndRename(temp, path);
  return image;
}

/** Whether a new table of `layout` starts from the empty image of its layout (large ones). */
export function copiesEmptyImage(layout: Partial<PTableLayout> | undefined): boolean {
  return resolvePmemLayout(layout).capacity >= PMEM_COPY_CAPACITY_MIN;
}

/**
 * An empty table of `layout` in `dir`, formatted once (`empty-<hash>.pmem-image`) and never
 * written after: what a new large table is a copy of.
 */
export function pmemEmptyImage(
  dir: string,
  layout: Partial<PTableLayout> | undefined,
  region: RegionOptions | undefined,
): string {
  return pmemImage(dir, 'empty', { empty: resolvePmemLayout(layout) }, (temp) =>
    formatPmemFile(temp, layout, region),
  );
}

/** Makes `temp` durable and renames it to `path`, durably. */
function syncAndRename(temp: string, path: string): void {
  const fd = openSync(temp, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  fsyncDir(dirname(path));
}
