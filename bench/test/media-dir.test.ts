import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_EXPERIMENT } from '../src/experiment/config.js';
import { defaultMediaDir, MEMORY_DIR } from '../src/experiment/media-dir.js';

const TMPFS_MAGIC = 0x01021994;
const isTmpfs = (dir: string): boolean => {
  try {
    return statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
};

test('pmem tables go on the memory file system when it has room; a WAL and the rest in the temp directory', () => {
  const demo = DEMO_EXPERIMENT; // 6 replicas, 50k keys of 150 B on pmem: about 120 MB
  assert.equal(defaultMediaDir({ ...demo, medium: 'wal' }), tmpdir(), 'a WAL must reach a disk');
  assert.equal(defaultMediaDir({ ...demo, medium: 'volatile' }), tmpdir());
  const missing = join(tmpdir(), 'heal-no-such-dir');
  assert.equal(
    defaultMediaDir(demo, missing),
    tmpdir(),
    'no memory file system: the temp directory',
  );
  if (!isTmpfs(tmpdir())) {
    const disk = mkdtempSync(join(tmpdir(), 'heal-media-dir-'));
    try {
      assert.equal(defaultMediaDir(demo, disk), tmpdir(), 'a directory on disk is no memory');
    } finally {
      rmSync(disk, { recursive: true, force: true });
    }
  }
  if (isTmpfs(MEMORY_DIR)) {
    assert.equal(defaultMediaDir(demo), MEMORY_DIR);
    // Ten million keys on each of 48 replicas: no machine's memory file system has the room.
    assert.equal(defaultMediaDir({ ...demo, replicas: 48, keys: 10_000_000 }), tmpdir());
  }
});
