import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEAL_REPLICA_MODULE } from '@heal/heal';
import { ThreadCluster } from '@heal/kv';

/** Real threads on a shared machine: a hang must fail the test, not stall the suite. */
const THREAD_TEST_TIMEOUT_MS = 120_000;
/** Linux's coarsest scheduler tick (HZ=100): schedstat's run time is brought up to date at ticks. */
const SCHED_TICK_MS_MAX = 10;

test(
  'HEAL on worker threads over pmem: the restarted replica gets what it missed from its Buddy and serves it',
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'heal-it-heal-'));
    const cluster = await ThreadCluster.start({
      replicas: 3,
      clients: 1,
      module: HEAL_REPLICA_MODULE,
      strategy: 'heal',
      medium: 'pmem',
      model: 'synch',
      dataDir,
      pmemCapacity: 4096,
      pmemLatency: false,
      dataset: { keys: 1000, valueSizes: { bytes: [32], weights: [1] } },
    });
    try {
      await cluster.ready(60_000);
      const client = cluster.client(0, 0);
      for (let i = 0; i < 50; i++) await client.put(`k${i}`, `before-${i}`);
      await cluster.crash(2);
      for (let i = 0; i < 20; i++) await client.put(`k${i}`, `during-${i}`);
      await cluster.restart(2, { strategy: 'heal' });
      const report = await cluster.recover(2, 60_000);
      assert.equal(report.strategy, 'heal');
      // From the Buddy's buffer, or by Merkle descent when a false suspicion on a loaded machine
      // changed the Buddy meanwhile: either way only what differs moves.
      assert.equal(
        (report.counts['bufferSessions'] ?? 0) + (report.counts['descentSessions'] ?? 0),
        1,
        JSON.stringify(report),
      );
      assert.ok(
        report.entriesApplied >= 20 && report.entriesApplied < 1000,
        `applied ${report.entriesApplied}: what it missed, not the store`,
      );
      // Its thread's CPU time (Linux's per-thread schedstat), part of the time it took: each
      // reading may lag by up to a scheduler tick (10 ms at the coarsest), the difference too.
      if (existsSync('/proc/thread-self/schedstat'))
        assert.ok(
          report.cpuMs !== undefined &&
            report.cpuMs > 0 &&
            report.cpuMs <= report.recoveryMs + SCHED_TICK_MS_MAX,
          `cpuMs ${report.cpuMs} of ${report.recoveryMs} ms`,
        );
      for (const phase of ['load', 'join', 'startToAck', 'replay', 'finalize'])
        assert.ok(phase in report.phasesMs, phase);
      await cluster.ready(60_000);
      const reader = cluster.client(0, 2);
      for (let i = 0; i < 20; i++)
        assert.equal(await reader.get(`k${i}`), `during-${i}`, 'a write it missed');
      for (let i = 20; i < 50; i++)
        assert.equal(await reader.get(`k${i}`), `before-${i}`, 'a write its medium kept');
      assert.equal((await reader.get('k999'))?.length, 32, 'the dataset');
    } finally {
      await cluster.shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
);
