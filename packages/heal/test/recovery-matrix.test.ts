import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachSeed, type ActorId } from '@heal/actors';
import {
  assertLinearizable,
  assertSettledAndEqual,
  PERSISTENCY_MODELS,
  SimCluster,
  startSimLoad,
  type SimClusterOptions,
  type WorkloadOptions,
} from '@heal/kv';
import { buddyOf, COMPARED_STRATEGIES, healReplicaModule } from '../src/index.js';

/**
 * The recovery suites (ARCHITECTURE.md §7): every strategy x model x medium, a replica crashed and
 * rejoined under load; and the faults recovery must survive. Every run: the history is
 * linearizable (with a minority down no model may lose a completed write, and clients read
 * from the recovered replica too) and, after quiescence, every replica holds the same data.
 */
const MATRIX_SEEDS = 4;
const FAULT_SEEDS = 12;
const MEDIA = ['volatile', 'wal', 'pmem'] as const;
const DATASET = { keys: 120, valueSizes: { bytes: [16, 48], weights: [3, 1] } };
const LOAD: WorkloadOptions = {
  keys: DATASET.keys,
  writeRatio: 0.5,
  opsPerClient: Infinity,
  thinkMs: 0.5,
  randomReplica: true,
};

function withCluster(
  seed: number,
  options: Partial<SimClusterOptions>,
  body: (c: SimCluster) => void,
): void {
  const dir = mkdtempSync(join(tmpdir(), 'heal-matrix-'));
  const c = new SimCluster({
    seed,
    replicas: 5,
    clients: 4,
    module: healReplicaModule,
    strategy: 'heal',
    medium: 'memory-durable',
    dataDir: dir,
    pmemCapacity: 512,
    pmemLatency: false,
    dataset: DATASET,
    ...options,
  });
  try {
    body(c);
    assertLinearizable(c);
    assertSettledAndEqual(c, 5000);
  } finally {
    for (let id = 0; id < c.replicas; id++) c.sim.storage(id).close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Stops the load and waits for every client's last answer. */
function finish(c: SimCluster, load: { stop(): void; running: number }): void {
  c.sim.runFor(20);
  load.stop();
  assert.ok(
    c.sim.runUntil(() => load.running === 0, 10_000),
    'clients finish',
  );
}

for (const strategy of COMPARED_STRATEGIES) {
  for (const model of PERSISTENCY_MODELS) {
    for (const medium of MEDIA) {
      test(`${strategy} x ${model} x ${medium}: crash and rejoin under load`, async (t) => {
        await forEachSeed(t, import.meta.url, MATRIX_SEEDS, (seed) => {
          withCluster(seed, { strategy, model, medium }, (c) => {
            const load = startSimLoad(c, seed, LOAD);
            const victim = seed % 5;
            c.sim.runFor(15 + (seed % 7));
            c.crash(victim);
            c.sim.runFor(40);
            c.restart(victim, { strategy });
            const outcome = c.recover(victim, 5000);
            assert.equal(outcome.strategy, strategy);
            assert.ok(
              outcome.recoveryMs > 0 && outcome.phasesMs['load'] !== undefined,
              JSON.stringify(outcome),
            );
            finish(c, load);
          });
        });
      });
    }
  }
}

/** The replica a strategy recovers from: HEAL's Buddy; the baselines' donor or keeper (lowest full member). */
function sourceOf(c: SimCluster, strategy: string, victim: ActorId): ActorId | undefined {
  const live = c.liveReplicas().find((r) => r.full);
  if (!live) return undefined;
  if (strategy === 'heal') return buddyOf(live.view, victim);
  return live.view.members
    .map((m) => m.id)
    .find((id) => id !== victim && !live.view.shadows.includes(id));
}

for (const strategy of COMPARED_STRATEGIES) {
  test(`${strategy}: writes to the same few keys while the replica recovers`, async (t) => {
    await forEachSeed(t, import.meta.url, FAULT_SEEDS, (seed) => {
      withCluster(seed, { strategy, medium: 'pmem' }, (c) => {
        const load = startSimLoad(c, seed, { ...LOAD, keys: 4, writeRatio: 0.8 });
        c.sim.runFor(15);
        c.crash(2);
        c.sim.runFor(30);
        c.restart(2);
        c.recover(2, 5000);
        finish(c, load);
      });
    });
  });

  test(`${strategy}: the recovery source crashes during recovery`, async (t) => {
    await forEachSeed(t, import.meta.url, FAULT_SEEDS, (seed) => {
      withCluster(seed, { strategy, medium: 'wal' }, (c) => {
        const load = startSimLoad(c, seed, LOAD);
        const victim = seed % 5;
        c.sim.runFor(15);
        c.crash(victim);
        c.sim.runFor(30);
        const source = sourceOf(c, strategy, victim);
        c.restart(victim);
        c.sim.runFor(seed % 4);
        if (source !== undefined && c.replica(source)) c.crash(source);
        c.recover(victim, 10_000);
        finish(c, load);
      });
    });
  });

  test(`${strategy}: the rejoining replica crashes again mid-recovery`, async (t) => {
    await forEachSeed(t, import.meta.url, FAULT_SEEDS, (seed) => {
      withCluster(seed, { strategy, medium: 'pmem' }, (c) => {
        const load = startSimLoad(c, seed, LOAD);
        const victim = (seed + 1) % 5;
        c.sim.runFor(15);
        c.crash(victim);
        c.sim.runFor(30);
        c.restart(victim);
        c.sim.runFor(1 + (seed % 5));
        c.crash(victim);
        c.sim.runFor(25);
        c.restart(victim);
        c.recover(victim, 10_000);
        finish(c, load);
      });
    });
  });

  test(`${strategy}: two replicas out at once (within the failure budget)`, async (t) => {
    await forEachSeed(t, import.meta.url, FAULT_SEEDS, (seed) => {
      withCluster(seed, { strategy, medium: 'wal' }, (c) => {
        const load = startSimLoad(c, seed, LOAD);
        const [a, b] = [seed % 5, (seed + 2) % 5];
        c.sim.runFor(15);
        c.crash(a);
        c.sim.runFor(seed % 10);
        c.crash(b);
        c.sim.runFor(40);
        c.restart(a);
        c.restart(b);
        c.recover(a, 10_000);
        c.recover(b, 10_000);
        finish(c, load);
      });
    });
  });
}

test('heal: a Missed-updates buffer that overflows falls back to Merkle descent', async (t) => {
  let overflowed = 0;
  await forEachSeed(t, import.meta.url, FAULT_SEEDS, (seed) => {
    withCluster(seed, { medium: 'pmem', strategyOptions: { bufferBytes: 256 } }, (c) => {
      const load = startSimLoad(c, seed, { ...LOAD, writeRatio: 0.8 });
      c.sim.runFor(15);
      c.crash(3);
      c.sim.runFor(60);
      const buddy = c.liveReplicas().find((r) => (r.stats()['bufferedFor'] ?? 0) > 0);
      const overflow = (buddy?.stats()['buffersOverflowed'] ?? 0) > 0;
      c.restart(3);
      const outcome = c.recover(3, 5000);
      assert.ok(outcome.missedKeys > 0, 'the replica missed writes');
      if (overflow) {
        overflowed++;
        assert.equal(
          outcome.counts['descentSessions'],
          1,
          `an overflowed buffer leads to a descent: ${JSON.stringify(outcome)}`,
        );
      }
      finish(c, load);
    });
  });
  assert.ok(
    overflowed >= FAULT_SEEDS / 2,
    `the buffer overflowed in ${overflowed} of ${FAULT_SEEDS} runs`,
  );
});
