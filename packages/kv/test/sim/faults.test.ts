import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachSeed, type ActorId } from '@heal/actors';
import { SIM_TIMING, SimCluster, type SimClusterOptions } from '../../src/index.js';
import { startSimLoad, type WorkloadOptions, type WorkloadProgress } from '../../src/index.js';
import { assertLinearizable, assertSettledAndEqual } from '../../src/index.js';

/** Seeds per scenario in CI; HEAL_SEEDS raises it, HEAL_SEED replays one. */
const SEEDS = 200;
const LOAD: WorkloadOptions = {
  keys: 6,
  writeRatio: 0.5,
  opsPerClient: 40,
  thinkMs: 0.5,
  randomReplica: true,
};

function run(
  t: { readonly name: string },
  options: Omit<SimClusterOptions, 'seed'>,
  load: WorkloadOptions,
  script: (cluster: SimCluster, progress: WorkloadProgress, seed: number) => void,
): Promise<void> {
  return forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    const cluster = new SimCluster({ seed, ...options });
    const progress = startSimLoad(cluster, seed, load);
    script(cluster, progress, seed);
    assert.ok(
      cluster.sim.runUntil(() => progress.running === 0, 20_000),
      `clients finish (${JSON.stringify(progress)})`,
    );
    assertLinearizable(cluster);
    assertSettledAndEqual(cluster, 5000);
  });
}

/** Runs until `id` coordinates a write (or `limitMs` pass); true if it does. */
function untilPendingWrite(cluster: SimCluster, id: ActorId, limitMs: number): boolean {
  return cluster.sim.runUntil(() => (cluster.replica(id)?.pendingWrites ?? 0) > 0, limitMs);
}

test('follower crash: the survivors drop it from the view and keep serving', async (t) => {
  await run(t, { replicas: 5, clients: 4 }, LOAD, (cluster, _progress, seed) => {
    cluster.sim.runFor(2 + (seed % 10));
    cluster.crash(4);
  });
});

test('a crash the runtime reports is removed in a few ms, without its silence or lease waited for', async (t) => {
  const removalMs = { reset: [] as number[], silent: [] as number[] };
  await run(t, { replicas: 5, clients: 4 }, LOAD, (cluster, _progress, seed) => {
    cluster.sim.runFor(2 + (seed % 10));
    const victim = seed % 5;
    const reset = seed % 2 === 0;
    const crashedAt = cluster.sim.now;
    cluster.crash(victim, { reset });
    const removed = (): boolean =>
      cluster.liveReplicas().every((r) => !r.view.members.some((m) => m.id === victim));
    assert.ok(cluster.sim.runUntil(removed, 1000), `replica ${victim} is removed`);
    (reset ? removalMs.reset : removalMs.silent).push(cluster.sim.now - crashedAt);
    assert.equal(
      cluster.liveReplicas().reduce((n, r) => n + (r.stats()['peersDown'] ?? 0), 0),
      reset ? 4 : 0,
    );
  });
  const { suspicionMs, leaseMs, heartbeatMs } = SIM_TIMING;
  assert.ok(
    Math.max(...removalMs.reset) < Math.min(suspicionMs, leaseMs),
    `reported crashes removed within ${Math.max(...removalMs.reset)} ms`,
  );
  // Silence counts from the last message heard, which left the victim before it crashed: at
  // most a heartbeat period before (one round trip decides the view once the proposer suspects).
  assert.ok(
    Math.min(...removalMs.silent) >= suspicionMs - heartbeatMs,
    `a silent crash is removed only once suspected (${Math.min(...removalMs.silent)} ms)`,
  );
});

test('coordinator crash mid-write: replay finishes its write', async (t) => {
  let replays = 0;
  await run(t, { replicas: 3, clients: 4 }, LOAD, (cluster, _p, seed) => {
    const victim = seed % 3;
    if (untilPendingWrite(cluster, victim, 50)) cluster.crash(victim);
    cluster.sim.runFor(100);
    replays += cluster.liveReplicas().reduce((n, r) => n + (r.stats()['replaysStarted'] ?? 0), 0);
  });
  assert.ok(replays > 0, 'some writes were finished by replay');
});

test('concurrent writes to one key from several coordinators: superseded writes still complete', async (t) => {
  let superseded = 0;
  const load = { keys: 1, writeRatio: 0.8, opsPerClient: 30, thinkMs: 0.1, randomReplica: true };
  await run(t, { replicas: 3, clients: 6, network: { minMs: 0.05, maxMs: 1 } }, load, (cluster) => {
    cluster.sim.runFor(200);
    superseded += cluster
      .liveReplicas()
      .reduce((n, r) => n + (r.stats()['supersededCompleted'] ?? 0), 0);
  });
  assert.ok(superseded > 0, 'some writes were superseded and still completed');
});

test('a view change with writes in flight re-sends them in the new epoch', async (t) => {
  await run(t, { replicas: 4, clients: 4 }, LOAD, (cluster, _p, seed) => {
    // A replica crashes while another coordinates: the new view must finish that write.
    const coordinator = seed % 4;
    const victim = (coordinator + 1) % 4;
    untilPendingWrite(cluster, coordinator, 50);
    cluster.crash(victim);
    cluster.sim.runFor(40);
    cluster.restart(victim);
  });
});

test('a slow replica suspected while alive never serves a stale read, and rejoins with nothing lost', async (t) => {
  let rejoined = 0;
  await run(t, { replicas: 3, clients: 4 }, { ...LOAD, opsPerClient: 60 }, (cluster, _p, seed) => {
    cluster.sim.runFor(3 + (seed % 5));
    // Replica 2's links become slower than the suspicion timeout in both directions.
    for (const other of [0, 1, 3, 4, 5, 6]) {
      cluster.sim.network.setLink(2, other, { minMs: 15, maxMs: 25 });
      cluster.sim.network.setLink(other, 2, { minMs: 15, maxMs: 25 });
    }
    cluster.sim.after(60, 'links recover', () => {
      for (const other of [0, 1, 3, 4, 5, 6]) {
        cluster.sim.network.setLink(2, other, { minMs: 0.05, maxMs: 0.5 });
        cluster.sim.network.setLink(other, 2, { minMs: 0.05, maxMs: 0.5 });
      }
    });
    const back = (): boolean => {
      const slow = cluster.replica(2);
      return (
        slow?.full === true && cluster.liveReplicas().every((r) => r.view.members.length === 3)
      );
    };
    cluster.sim.runFor(60);
    assert.ok(
      cluster.sim.runUntil(back, 1000),
      'the falsely suspected replica is a full member again',
    );
    rejoined += cluster.replica(2)?.stats()['recoveries'] ?? 0;
  });
  assert.ok(
    rejoined > 0,
    'the slow replica was removed and re-admitted through recovery in some runs',
  );
});

test('message delay, reordering, duplication and loss', async (t) => {
  const network = { minMs: 0.05, maxMs: 4, lossRate: 0.02, duplicateRate: 0.02 };
  await run(t, { replicas: 3, clients: 4, network }, LOAD, () => undefined);
});

test('a minority partition heals and rejoins', async (t) => {
  await run(t, { replicas: 5, clients: 4 }, LOAD, (cluster, _p, seed) => {
    cluster.sim.runFor(2 + (seed % 7));
    // Clients 5..8 stay with the majority except one, which is cut off with replica 4.
    cluster.sim.network.partition([[4, 8]]);
    cluster.sim.after(40, 'heal', () => cluster.sim.network.heal());
  });
});

test('a crashed replica restarts, rejoins through recovery, and ends equal to the others', async (t) => {
  await run(t, { replicas: 3, clients: 4 }, { ...LOAD, opsPerClient: 60 }, (cluster, _p, seed) => {
    const victim = seed % 3;
    cluster.sim.runFor(3);
    cluster.crash(victim);
    cluster.sim.runFor(30 + (seed % 20));
    cluster.restart(victim);
  });
});

test('a replica restarting with records left in Write replays them after it is re-admitted', async (t) => {
  let replayedOwn = 0;
  await run(t, { replicas: 3, clients: 4, medium: 'memory-durable' }, LOAD, (cluster, _p, seed) => {
    const victim = seed % 3;
    if (untilPendingWrite(cluster, victim, 50)) {
      cluster.crash(victim);
      const leftInWrite = [...cluster.sim.storage(victim).records()].filter(
        (r) => r.state === 'write',
      ).length;
      assert.ok(leftInWrite > 0, 'the medium kept a record in Write');
      cluster.sim.runFor(5);
      cluster.restart(victim);
      cluster.sim.runFor(100);
      replayedOwn += cluster.replica(victim)?.stats()['replaysStarted'] ?? 0;
    }
  });
  assert.ok(replayedOwn > 0, 'restarted replicas replayed their leftover writes');
});
