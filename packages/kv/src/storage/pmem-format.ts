import { closeSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { LATENCY_OFF, PmemRegion, PTable, type PTableLayout, type RegionOptions } from '@heal/pmem';
import { DIGEST_BUCKETS_DEFAULT } from '../digest/bucket-digest.js';
import { fsyncDir } from './checkpoint.js';
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
  const fd = openSync(temp, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  fsyncDir(dirname(path));
}
