import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvError, ThreadCluster } from '../src/index.js';

/** Real threads on a shared machine: a hang must fail the test, not stall the suite. */
const THREAD_TEST_TIMEOUT_MS = 60_000;

test(
  'replicas in worker threads serve puts and gets, survive a crash, and recover a restarted replica',
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const cluster = await ThreadCluster.start({ replicas: 3, clients: 2 });
    try {
      await cluster.ready();
      const a = cluster.client(0, 0);
      const b = cluster.client(1, 1);
      assert.equal(await b.get('absent'), null);
      await a.put('k', 'v1');
      assert.equal(await b.get('k'), 'v1', 'a completed write is visible at another replica');
      await a.put('', '');
      assert.equal(await b.get(''), '', 'the empty string is a value, distinct from absent');
      for (let i = 0; i < 200; i++) await a.put(`key${i}`, `value${i}`);

      await cluster.crash(2);
      // Writes need every member's ACK: they complete once the view drops replica 2.
      await a.put('k', 'v2');
      assert.equal(await b.get('k'), 'v2');

      await cluster.restart(2);
      await cluster.ready();
      const c = cluster.client(1, 2);
      assert.equal(await c.get('k'), 'v2', 'the restarted replica recovered the write it missed');
      assert.equal(await c.get('key199'), 'value199');
      const stats = (await cluster.stats(2)).actor;
      assert.equal(stats['recoveries'], 1);
      assert.ok(
        (stats['fcEntriesApplied'] ?? 0) >= 202,
        `copied ${stats['fcEntriesApplied']} entries`,
      );
    } finally {
      await cluster.shutdown();
    }
  },
);

test(
  'an operation with no answer fails with a timeout error naming the key',
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const cluster = await ThreadCluster.start({ replicas: 3, clients: 1, clientTimeoutMs: 100 });
    try {
      await cluster.ready();
      await cluster.crash(0);
      const client = cluster.client(0, 0);
      await assert.rejects(client.get('x'), (err: unknown) => {
        assert.ok(err instanceof KvError);
        assert.equal(err.code, 'timeout');
        assert.match(err.message, /get "x" got no answer within 100 ms/);
        return true;
      });
    } finally {
      await cluster.shutdown();
    }
  },
);

test(
  'after every replica went down, the cluster restarts from its wal media and serves what they kept',
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'heal-kv-threads-restart-'));
    const cluster = await ThreadCluster.start({ replicas: 3, clients: 1, medium: 'wal', dataDir });
    try {
      await cluster.ready();
      const a = cluster.client(0, 0);
      for (let i = 0; i < 50; i++) await a.put(`key${i}`, `value${i}`);
      const text = 'ключ 🔑 \0 é';
      await a.put('text', text);
      const epochBefore = (await cluster.stats(0)).actor['epoch'] ?? NaN;
      await cluster.powerFailure();
      await cluster.restartAll();
      await cluster.ready();
      const stats = await Promise.all([0, 1, 2].map(async (id) => (await cluster.stats(id)).actor));
      for (const s of stats) {
        assert.equal(s['coldStarts'], 1);
        assert.ok(
          (s['epoch'] ?? NaN) > epochBefore,
          `the cold-start epoch ${s['epoch']} is above ${epochBefore}`,
        );
      }
      // Synch: every completed write is on every medium.
      const b = cluster.client(0, 2);
      for (let i = 0; i < 50; i++) assert.equal(await b.get(`key${i}`, 1 + (i % 2)), `value${i}`);
      assert.equal(await b.get('text', 1), text, 'a value outside ASCII survives its wal');
      await b.put('key0', 'after');
      assert.equal(await b.get('key0', 0), 'after');
    } finally {
      await cluster.shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
);

test(
  'a new process on the data directory of a stopped cluster cold-starts from its media instead of starting a fresh view',
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'heal-kv-threads-reopen-'));
    try {
      const first = await ThreadCluster.start({ replicas: 3, clients: 1, medium: 'wal', dataDir });
      let epochBefore = NaN;
      try {
        await first.ready();
        const a = first.client(0, 0);
        for (let i = 0; i < 20; i++) await a.put(`key${i}`, `value${i}`);
        epochBefore = (await first.stats(0)).actor['epoch'] ?? NaN;
      } finally {
        await first.shutdown();
      }
      const second = await ThreadCluster.start({ replicas: 3, clients: 1, medium: 'wal', dataDir });
      try {
        await second.ready();
        for (let id = 0; id < 3; id++) {
          const s = (await second.stats(id)).actor;
          assert.equal(s['coldStarts'], 1, `replica ${id} cold-started`);
          assert.ok(
            (s['epoch'] ?? NaN) > epochBefore,
            `the cold-start epoch ${s['epoch']} is above ${epochBefore}`,
          );
        }
        const b = second.client(0, 1);
        for (let i = 0; i < 20; i++) assert.equal(await b.get(`key${i}`, i % 3), `value${i}`);
      } finally {
        await second.shutdown();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
);
