import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachSeed, type ActorId } from '@heal/actors';
import {
  assertLinearizable,
  assertRecoveryReport,
  assertSettledAndEqual,
  crashAndRecover,
  crashAndRestart,
  createReplicaModule,
  SimCluster,
  startSimLoad,
  type RecoveryOutcome,
  type SimClusterOptions,
} from '@heal/kv';
import { healReplicaModule } from '../src/heal-module.js';
import { COMMIT_LOG_COUNT_DEFAULT, leaderIncrementalRecovery } from '../src/leader-incremental.js';

const MODULE = createReplicaModule([leaderIncrementalRecovery]);
const DATASET = { keys: 200, valueSizes: { bytes: [32], weights: [1] } };
/** Seeds per scenario (HEAL_SEEDS raises it, HEAL_SEED replays one). */
const SEEDS = 15;
const PHASES = ['load', 'sync', 'join', 'finalize'];
/** Clients asking the crashed replica give up soon and go on with the next operation. */
const CLIENT_TIMEOUT_MS = 20;
/** Outages last past the crashed replica's removal and a few client timeouts. */
const OUTAGE_MS = 50;
/** Replica 0 keeps the log while it is a full member (the lowest id). */
const KEEPER = 0;

/**
 * One seeded run: a cluster under closed-loop load while `script` runs, then the clients stop;
 * the history must be linearizable and the replicas equal once settled.
 */
function run(
  seed: number,
  options: Partial<SimClusterOptions>,
  script: (cluster: SimCluster) => void,
): void {
  const dir = options.medium === 'pmem' ? mkdtempSync(join(tmpdir(), 'heal-li-')) : undefined;
  try {
    const cluster = new SimCluster({
      seed,
      replicas: 3,
      clients: 4,
      module: MODULE,
      strategy: 'leader-incremental',
      dataset: DATASET,
      clientTimeoutMs: CLIENT_TIMEOUT_MS,
      ...(dir !== undefined ? { dataDir: dir, pmemCapacity: 512, pmemLatency: false } : {}),
      ...options,
    });
    const load = startSimLoad(cluster, seed, {
      keys: DATASET.keys,
      writeRatio: 0.5,
      opsPerClient: Infinity,
      thinkMs: 0.5,
      randomReplica: true,
    });
    script(cluster);
    load.stop();
    assert.ok(
      cluster.sim.runUntil(() => load.running === 0, 5000),
      'clients finish',
    );
    assertLinearizable(cluster);
    assertSettledAndEqual(cluster, 5000);
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** Keeps the crashed replica down past its removal (`baseMs`), a little longer for some seeds. */
function outageMs(seed: number, baseMs = OUTAGE_MS): number {
  return baseMs + (seed % 40);
}

function assertReport(outcome: RecoveryOutcome): void {
  assertRecoveryReport(outcome, 'leader-incremental', PHASES);
  assert.ok(
    (outcome.counts['diff'] ?? 0) + (outcome.counts['snap'] ?? 0) >= 1,
    `a mode is reported: ${JSON.stringify(outcome.counts)}`,
  );
}

/** Sum of one stat over the live replicas. */
function statSum(cluster: SimCluster, name: string): number {
  return cluster.liveReplicas().reduce((n, r) => n + (r.stats()[name] ?? 0), 0);
}

function sessionOpenAt(cluster: SimCluster, id: ActorId): boolean {
  const s = cluster.replica(id)?.stats() ?? {};
  return (s['liSessionsServed'] ?? 0) > (s['liSessionsDone'] ?? 0) + (s['liSessionsDropped'] ?? 0);
}

test('leader-incremental options: bad values are named', () => {
  const create = (options: Record<string, string | number>): unknown =>
    leaderIncrementalRecovery.create(0, options);
  assert.throws(
    () => create({ commitLogCount: 0 }),
    /leader-incremental option commitLogCount must be a positive integer, got 0/,
  );
  assert.throws(
    () => create({ bufferBytes: 1.5 }),
    /leader-incremental option bufferBytes must be a positive integer, got 1.5/,
  );
  assert.throws(
    () => create({ snapshotSizeFactor: 'big' }),
    /snapshotSizeFactor must be a finite number, got "big"/,
  );
  assert.equal(
    leaderIncrementalRecovery.create(0, { snapshotSizeFactor: -1, commitLogCount: 5 }).name,
    'leader-incremental',
  );
});

test('leader-incremental (pmem, synch): a replica that kept its medium gets what it missed as a DIFF of logged writes', async (t) => {
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    run(seed, { medium: 'pmem' }, (cluster) => {
      const outcome = crashAndRecover(cluster, 1 + (seed % 2), outageMs(seed));
      assertReport(outcome);
      assert.equal(outcome.counts['diff'], 1, `one DIFF: ${JSON.stringify(outcome.counts)}`);
      assert.equal(outcome.counts['snap'], undefined, 'no SNAP');
      // One entry per logged write, not one per key: at least every missed key.
      assert.ok(
        (outcome.counts['entries'] ?? 0) >= outcome.missedKeys,
        `entries cover the missed keys: ${JSON.stringify(outcome)}`,
      );
      assert.ok(
        outcome.entriesReceived < DATASET.keys + outcome.missedWrites,
        'a DIFF is not the store',
      );
    });
  });
});

test('leader-incremental (volatile, strict): a replica whose medium kept nothing gets a SNAP', async (t) => {
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    run(seed, { medium: 'volatile', model: 'strict' }, (cluster) => {
      const outcome = crashAndRecover(cluster, seed % 3, outageMs(seed));
      assertReport(outcome);
      assert.equal(outcome.counts['snap'], 1, `one SNAP: ${JSON.stringify(outcome.counts)}`);
      assert.ok(
        (outcome.counts['snapEntries'] ?? 0) >= DATASET.keys,
        'the snapshot holds the store',
      );
    });
  });
});

test('leader-incremental: a gap longer than the retained log (small bufferBytes) gets a SNAP', async (t) => {
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    run(seed, { medium: 'pmem', strategyOptions: { bufferBytes: 200 } }, (cluster) => {
      // Long enough for more writes than the few entries 200 bytes hold.
      const outcome = crashAndRecover(cluster, 1 + (seed % 2), outageMs(seed, 4 * OUTAGE_MS));
      assertReport(outcome);
      assert.equal(outcome.counts['snap'], 1, `one SNAP: ${JSON.stringify(outcome.counts)}`);
      assert.ok(
        statSum(cluster, 'liSnapsTruncated') >= 1,
        'the keeper saw the log truncated past the resume position',
      );
      assert.ok(statSum(cluster, 'liLogBytes') <= 200, 'the log stays within its budget');
    });
  });
});

test('leader-incremental: past the in-memory entries, a DIFF only while it costs at most snapshotSizeFactor x the store', async (t) => {
  let fromTxnLog = 0;
  let tooLarge = 0;
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    const factor = seed % 2 === 0 ? 10 : 0.001;
    run(
      seed,
      { medium: 'pmem', strategyOptions: { commitLogCount: 1, snapshotSizeFactor: factor } },
      (cluster) => {
        const outcome = crashAndRecover(cluster, 1 + (seed % 2), outageMs(seed));
        assertReport(outcome);
        assert.equal(
          outcome.counts[factor > 1 ? 'diff' : 'snap'],
          1,
          `factor ${factor}: ${JSON.stringify(outcome.counts)}`,
        );
        fromTxnLog += statSum(cluster, 'liDiffsFromTxnLog');
        tooLarge += statSum(cluster, 'liSnapsTooLarge');
      },
    );
  });
  assert.ok(
    fromTxnLog > 0 && tooLarge > 0,
    `DIFFs from the older log (${fromTxnLog}) and SNAPs for their cost (${tooLarge})`,
  );
});

test('leader-incremental: the keeper crashes mid-sync and the replica syncs again with the new keeper', async (t) => {
  let restarted = 0;
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    run(seed, { replicas: 5, medium: 'pmem' }, (cluster) => {
      const victim = 1 + (seed % 4);
      crashAndRestart(cluster, victim, OUTAGE_MS);
      assert.ok(
        cluster.sim.runUntil(() => sessionOpenAt(cluster, KEEPER), 500),
        'the keeper serves the sync',
      );
      cluster.sim.runFor(seed % 4);
      if (sessionOpenAt(cluster, KEEPER)) cluster.crash(KEEPER);
      const outcome = cluster.recover(victim, 3000);
      assertReport(outcome);
      if ((outcome.counts['sessions'] ?? 0) > 1) {
        restarted++;
        // The new keeper never knew the replica in sync: no resume position there.
        assert.ok(
          (outcome.counts['snap'] ?? 0) >= 1,
          `a SNAP from the new keeper: ${JSON.stringify(outcome.counts)}`,
        );
      }
      cluster.sim.runFor(20);
    });
  });
  assert.ok(restarted > 0, 'some syncs went on with the new keeper');
});

test('leader-incremental: the restarted replica crashes again mid-sync, restarts, and recovers', async (t) => {
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    run(seed, { medium: 'pmem' }, (cluster) => {
      const victim = 1 + (seed % 2);
      crashAndRestart(cluster, victim, OUTAGE_MS);
      assert.ok(
        cluster.sim.runUntil(() => sessionOpenAt(cluster, KEEPER), 500),
        'the keeper serves the sync',
      );
      crashAndRestart(cluster, victim, OUTAGE_MS, seed % 3);
      const outcome = cluster.recover(victim, 3000);
      assertReport(outcome);
      assert.equal(
        outcome.counts['diff'],
        1,
        `its resume position still holds: ${JSON.stringify(outcome.counts)}`,
      );
      cluster.sim.runFor(20);
    });
  });
});

test('leader-incremental: lost, duplicated and reordered messages', async (t) => {
  const network = { minMs: 0.05, maxMs: 2, lossRate: 0.02, duplicateRate: 0.02 };
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    run(seed, { medium: 'pmem', network }, (cluster) => {
      assertReport(crashAndRecover(cluster, 1 + (seed % 2), outageMs(seed)));
    });
  });
});

test("leader-incremental-budget: with the shared budget in memory it DIFFs where ZooKeeper's 500-commit log SNAPs", () => {
  const outcome = (strategy: string): RecoveryOutcome => {
    const c = new SimCluster({
      seed: 3,
      replicas: 5,
      clients: 6,
      module: healReplicaModule,
      strategy,
      medium: 'memory-durable',
      dataset: { keys: 2000, valueSizes: { bytes: [16], weights: [1] } },
      clientTimeoutMs: 20,
    });
    const load = startSimLoad(c, 3, {
      keys: 2000,
      writeRatio: 1,
      opsPerClient: Infinity,
      thinkMs: 0,
      randomReplica: true,
    });
    c.sim.runFor(10);
    c.crash(2);
    c.sim.runFor(1500);
    c.restart(2);
    const report = c.recover(2, 5000);
    assert.ok(
      report.missedWrites > COMMIT_LOG_COUNT_DEFAULT,
      `missed ${report.missedWrites} writes`,
    );
    load.stop();
    assert.ok(
      c.sim.runUntil(() => load.running === 0, 5000),
      'clients finish',
    );
    assertLinearizable(c);
    assertSettledAndEqual(c, 5000);
    return report;
  };
  assert.equal(outcome('leader-incremental').counts['snap'], 1, 'over 500 missed commits: SNAP');
  assert.equal(
    outcome('leader-incremental-budget').counts['diff'],
    1,
    'the same gap within the budget: DIFF',
  );
});
