import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvError, ThreadCluster } from '../src/index.js';

/** Real threads on a shared machine: a hang must fail the test, not stall the suite. */
const THREAD_TEST_TIMEOUT_MS = 60_000;

test('replicas in worker threads serve puts and gets, survive a crash, and recover a restarted replica', { timeout: THREAD_TEST_TIMEOUT_MS }, async () => {
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
    assert.ok((stats['copyEntriesApplied'] ?? 0) >= 202, `copied ${stats['copyEntriesApplied']} entries`);
  } finally {
    await cluster.shutdown();
  }
});

test('an operation with no answer fails with a timeout error naming the key', { timeout: THREAD_TEST_TIMEOUT_MS }, async () => {
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
});
