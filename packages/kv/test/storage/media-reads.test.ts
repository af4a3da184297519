/**
 * What every durable medium offers a replica that restarts from it: reads in place (`get`,
 * `size`, `records`, `recordsInBuckets`, `notValid`) that agree with one another, whether the
 * records were synced or are still only written.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BucketDigest, createStorage, SIM_TIMING, type KeyRecord } from '../../src/index.js';
import { assertSameRecords, rec, tempDir } from './helpers.js';

const tmp = tempDir('media-reads');
after(() => tmp.cleanup());

test('every medium reads in place what it holds, written and synced or not: get, size, records in buckets, not Valid', () => {
  const digest = new BucketDigest();
  for (const medium of ['memory-durable', 'wal', 'pmem'] as const) {
    const storage = createStorage(0, {
      replicas: 1,
      timing: SIM_TIMING,
      strategy: 'full-copy',
      medium,
      dataDir: join(tmp.dir, `reads-${medium}`),
      pmemCapacity: 64,
    });
    for (let i = 0; i < 30; i++) storage.write(rec(`k${i}`, i));
    storage.sync();
    for (let i = 20; i < 40; i++) storage.write(rec(`k${i}`, 100 + i)); // 20..29 rewritten, 30..39 new: unsynced
    const all = [...storage.records()];
    assert.equal(all.length, 40, medium);
    assert.equal(storage.size, 40, medium);
    assertSameRecords(
      [storage.get('k25') as KeyRecord, storage.get('k3') as KeyRecord],
      [rec('k25', 125), rec('k3', 3)],
      medium,
    );
    assert.equal(storage.get('k99'), undefined);
    const buckets = new Set(['k1', 'k25', 'k33'].map((k) => digest.bucketOf(k)));
    assertSameRecords(
      storage.recordsInBuckets(buckets),
      all.filter((r) => buckets.has(digest.bucketOf(r.key))),
      medium,
    );
    assertSameRecords(
      storage.notValid(),
      all.filter((r) => r.state !== 'valid'),
      medium,
    );
    storage.close();
  }
});
