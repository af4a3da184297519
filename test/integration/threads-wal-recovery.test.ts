import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ThreadCluster } from '@heal/kv';

/** Real threads on a shared machine: a hang must fail the test, not stall the suite. */
const THREAD_TEST_TIMEOUT_MS = 120_000;

test(
  'replicas on worker threads over write-ahead logs survive a crash: the restarted replica serves every completed write',
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'heal-it-wal-'));
    const cluster = await ThreadCluster.start({
      replicas: 3,
      clients: 1,
      medium: 'wal',
      model: 'synch',
      dataDir,
    });
    try {
      await cluster.ready(60_000);
      const client = cluster.client(0, 0);
      for (let i = 0; i < 100; i++) await client.put(`key${i}`, `value${i}`);
      assert.deepEqual(readdirSync(dataDir).sort(), [
        'replica-0.wal',
        'replica-1.wal',
        'replica-2.wal',
      ]);

      await cluster.crash(2);
      await client.put('key0', 'after-crash');
      await cluster.restart(2);
      await cluster.ready(60_000);
      const stats = (await cluster.stats(2)).actor;
      assert.equal(stats['recoveries'], 1, 'the restarted replica went through recovery');
      const reader = cluster.client(0, 2);
      assert.equal(await reader.get('key0'), 'after-crash', 'the write it missed');
      for (let i = 1; i < 100; i++) assert.equal(await reader.get(`key${i}`), `value${i}`);
    } finally {
      await cluster.shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
);
