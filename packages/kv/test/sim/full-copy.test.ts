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
  type WorkloadOptions,
  type WorkloadProgress,
} from '../../src/index.js';
import { fullCopyRecovery } from '../../src/recovery/full-copy.js';

const MODULE = createReplicaModule([fullCopyRecovery]);
const DATASET = { keys: 200, valueSizes: { bytes: [32], weights: [1] } };
/** Seeds per scenario (HEAL_SEEDS raises it, HEAL_SEED replays one). */
const SEEDS = 15;
const PHASES = ['load', 'copy', 'catchUp', 'join', 'finalize'];

/**
 * One seeded run: a cluster under closed-loop load for as long as `script` runs, then the
 * clients stop; the history must be linearizable and the replicas equal once settled.
 */
function run(
  seed: number,
  options: Partial<SimClusterOptions>,
  script: (cluster: SimCluster, load: WorkloadProgress) => void,
  load: Partial<WorkloadOptions> = {},
): void {
  const dir = options.medium === 'pmem' ? mkdtempSync(join(tmpdir(), 'heal-fc-')) : undefined;
  try {
    const cluster = new SimCluster({
      seed,
      replicas: 3,
      clients: 4,
      module: MODULE,
      strategy: 'full-copy',
      dataset: DATASET,
      clientTimeoutMs: CLIENT_TIMEOUT_MS,
      ...(dir !== undefined ? { dataDir: dir, pmemCapacity: 512, pmemLatency: false } : {}),
      ...options,
    });
    const progress = startSimLoad(cluster, seed, {
      keys: DATASET.keys,
      writeRatio: 0.5,
      opsPerClient: Infinity,
      thinkMs: 0.5,
      randomReplica: true,
      ...load,
    });
    script(cluster, progress);
    progress.stop();
    assert.ok(
      cluster.sim.runUntil(() => progress.running === 0, 5000),
      'clients finish',
    );
    assertLinearizable(cluster);
    assertSettledAndEqual(cluster, 5000);
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** Clients asking the crashed replica give up soon and go on with the next operation. */
const CLIENT_TIMEOUT_MS = 20;
/** Outages last past the crashed replica's removal and a few client timeouts. */
const OUTAGE_MS = 50;

/** Keeps the crashed replica down past its removal, a little longer for some seeds. */
function outageMs(seed: number): number {
  return OUTAGE_MS + (seed % 40);
}

function assertReport(outcome: RecoveryOutcome): void {
  assertRecoveryReport(outcome, 'full-copy', PHASES);
  assert.ok(
    (outcome.counts['copyEntries'] ?? 0) >= DATASET.keys,
    `the whole store is copied: ${JSON.stringify(outcome.counts)}`,
  );
}

/** The donor that has a copy session open right now, if any. */
function openDonor(cluster: SimCluster, joiner: ActorId): ActorId | undefined {
  for (const r of cluster.liveReplicas()) {
    const s = r.stats();
    if (
      r.self !== joiner &&
      (s['fcSessionsServed'] ?? 0) > (s['fcSessionsDone'] ?? 0) + (s['fcSessionsDropped'] ?? 0)
    )
      return r.self;
  }
  return undefined;
}

test('full-copy options: a bad bufferBytes is named', () => {
  assert.throws(
    () => fullCopyRecovery.create(0, { bufferBytes: 0 }),
    /full-copy option bufferBytes must be a positive integer, got 0/,
  );
  assert.throws(
    () => fullCopyRecovery.create(0, { bufferBytes: 'x' }),
    /bufferBytes must be a positive integer, got "x"/,
  );
  assert.equal(fullCopyRecovery.create(0, { bufferBytes: 4096 }).name, 'full-copy');
});

test('full-copy (volatile, synch): a restarted replica copies the whole store under load and serves reads', async (t) => {
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    run(seed, { medium: 'volatile' }, (cluster) => {
      const outcome = crashAndRecover(cluster, seed % 3, outageMs(seed));
      assertReport(outcome);
      assert.ok(
        outcome.entriesApplied >= DATASET.keys,
        `an empty medium applies every key: ${outcome.entriesApplied}`,
      );
    });
  });
});

test('full-copy (pmem, strict): the copy is whole even when the medium kept most of it', async (t) => {
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    run(seed, { medium: 'pmem', model: 'strict' }, (cluster) => {
      const outcome = crashAndRecover(cluster, seed % 3, outageMs(seed));
      assertReport(outcome);
      assert.ok(
        outcome.entriesApplied < outcome.entriesReceived,
        `kept records are not applied again: ${JSON.stringify(outcome)}`,
      );
    });
  });
});

test('full-copy: the donor crashes mid-recovery and the replica starts over with another donor', async (t) => {
  let restarts = 0;
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    run(seed, { replicas: 5, medium: 'volatile' }, (cluster) => {
      const victim = seed % 5;
      crashAndRestart(cluster, victim, OUTAGE_MS);
      assert.ok(
        cluster.sim.runUntil(() => openDonor(cluster, victim) !== undefined, 500),
        'a donor serves the copy',
      );
      cluster.sim.runFor(seed % 4);
      const donor = openDonor(cluster, victim);
      if (donor !== undefined) cluster.crash(donor);
      const outcome = cluster.recover(victim, 3000);
      restarts += (outcome.counts['sessions'] ?? 0) - 1;
      assertReport(outcome);
    });
  });
  assert.ok(restarts > 0, 'some recoveries went on with another donor');
});

test('full-copy: the restarted replica crashes again mid-copy, restarts, and recovers', async (t) => {
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    run(seed, { medium: 'volatile' }, (cluster) => {
      const victim = 1 + (seed % 2);
      crashAndRestart(cluster, victim, OUTAGE_MS);
      assert.ok(
        cluster.sim.runUntil(() => openDonor(cluster, victim) !== undefined, 500),
        'a donor serves the copy',
      );
      crashAndRestart(cluster, victim, OUTAGE_MS, seed % 3);
      assertReport(cluster.recover(victim, 3000));
      cluster.sim.runFor(20);
    });
  });
});

// Seed 3 found that a replica admitted more than suspicionMs after its restart suspected the
// members it had not heard from while it caught up (kv Membership now resets their clocks).
test('full-copy: a replica restarting before the view dropped it stays silent until it is dropped, then copies', async (t) => {
  let declined = 0;
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    run(seed, { medium: 'volatile' }, (cluster) => {
      const victim = seed % 3;
      crashAndRestart(cluster, victim, 1 + (seed % 5));
      const outcome = cluster.recover(victim, 3000);
      declined += outcome.counts['rejects'] ?? 0;
      for (const phase of PHASES)
        assert.ok(
          phase in outcome.phasesMs,
          `phase ${phase} in ${JSON.stringify(outcome.phasesMs)}`,
        );
      cluster.sim.runFor(20);
    });
  });
  assert.ok(declined > 0, 'donors declined while the old incarnation was a member');
});

test('full-copy: lost, duplicated and reordered messages', async (t) => {
  const network = { minMs: 0.05, maxMs: 2, lossRate: 0.02, duplicateRate: 0.02 };
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    run(seed, { medium: 'volatile', network }, (cluster) => {
      assertReport(crashAndRecover(cluster, seed % 3, outageMs(seed)));
    });
  });
});

test('full-copy: a donor over its buffer budget starts the copy over, and it still completes', async (t) => {
  let overflows = 0;
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    // A store of 12 batches copied while 12 busy clients write: a few records fill the budget.
    const options = {
      medium: 'volatile' as const,
      clients: 12,
      strategyOptions: { bufferBytes: 300 },
      dataset: { ...DATASET, keys: 3000 },
    };
    run(
      seed,
      options,
      (cluster) => {
        const outcome = crashAndRecover(cluster, seed % 3, outageMs(seed));
        overflows += outcome.counts['overflows'] ?? 0;
      },
      { thinkMs: 0, randomReplica: false },
    );
  });
  assert.ok(overflows > 0, 'some copies overflowed the budget and started over');
});

test('full-copy over a slow link: the recovery takes at least the bytes it moved over the bandwidth', async (t) => {
  const BYTES_PER_SEC = 30e6;
  const dataset = { keys: 5000, valueSizes: { bytes: [100], weights: [1] } };
  const recover = (seed: number, nic: SimClusterOptions['nic']): RecoveryOutcome => {
    let outcome: RecoveryOutcome | undefined;
    run(
      seed,
      { dataset, ...(nic ? { nic } : {}) },
      (cluster) => {
        outcome = crashAndRecover(cluster, 1 + (seed % 2), seed);
      },
      { keys: dataset.keys },
    );
    return outcome as RecoveryOutcome;
  };
  await forEachSeed(t, import.meta.url, 3, (seed) => {
    const slow = recover(seed, { bytesPerSec: BYTES_PER_SEC });
    const fast = recover(seed, undefined);
    const wireMs = (slow.bytesMoved / BYTES_PER_SEC) * 1000;
    assert.ok(
      slow.bytesMoved > dataset.keys * 100,
      `the whole store moved: ${slow.bytesMoved} bytes`,
    );
    assert.ok(
      slow.recoveryMs >= wireMs,
      `${slow.recoveryMs} ms to move ${slow.bytesMoved} bytes at ${BYTES_PER_SEC} B/s (${wireMs} ms)`,
    );
    // The recovery's own steps (view changes, the join) take tens of ms without a limit: the link
    // shows as what it adds to them.
    assert.ok(
      slow.recoveryMs - fast.recoveryMs >= wireMs / 2,
      `slow ${slow.recoveryMs} ms, unlimited ${fast.recoveryMs} ms, wire ${wireMs} ms`,
    );
  });
});
