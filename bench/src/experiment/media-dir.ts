import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pmemTableBytes } from '@heal/kv/replica';
import { createWorkload } from '../workloads/index.js';
import type { ExperimentConfig } from './config.js';

/** Records of the pmem table beyond the dataset (keys the workload never adds; slack for the layout). */
const PMEM_HEADROOM_RECORDS = 4096;
/** The smallest value slot of a pmem table. */
const PMEM_VALUE_BYTES_MIN = 64;
/** statfs(2)'s f_type of tmpfs. */
const TMPFS_MAGIC = 0x01021994;
/** Where pmem tables go by default: a memory file system, when the machine has one. */
export const MEMORY_DIR = '/dev/shm';

/** The pmem table every replica of an experiment gets: its dataset's keys, values of `valueBytes`. */
export function experimentPmemSizing(
  keys: number,
  valueBytes: number,
): { pmemCapacity: number; pmemValueBytesMax: number } {
  return {
    pmemCapacity: keys + PMEM_HEADROOM_RECORDS,
    pmemValueBytesMax: Math.max(PMEM_VALUE_BYTES_MIN, valueBytes),
  };
}

/**
 * Where an experiment's media go unless --data-dir says. pmem tables: on `memoryDir` if it is a
 * tmpfs with room for twice every replica's table and the dataset image, since persistent memory
 * is memory: on a disk file system the page cache adds a write fault (a file system journal
 * update) to the first store in each page of a restarted replica's mapping, and writeback I/O
 * on the cores the cluster runs on (measured on the bar's command, 100k keys: recoveryMs median
 * 48 ms over 8 runs on ext4, 32 over 6 on /dev/shm). Everything else, and pmem without the
 * room, in the OS temp directory: a write-ahead log's fsync must reach a disk.
 */
export function defaultMediaDir(
  config: Pick<ExperimentConfig, 'medium' | 'replicas' | 'keys' | 'workload' | 'valueBytes'>,
  memoryDir = MEMORY_DIR,
): string {
  if (config.medium !== 'pmem') return tmpdir();
  const { keys, valueBytes } = config;
  const workload = createWorkload(config.workload, {
    keys,
    ...(valueBytes !== undefined ? { valueBytes } : {}),
  });
  const table = pmemTableBytes(experimentPmemSizing(keys, workload.datasetValueBytes(0)));
  const needed = (config.replicas + 1) * table;
  try {
    const fs = statfsSync(memoryDir);
    if (fs.type === TMPFS_MAGIC && fs.bavail * fs.bsize >= 2 * needed) return memoryDir;
  } catch (err) {
    // No such directory (not Linux, or a container without it): the temp directory.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return tmpdir();
}
