import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachSeed, type CostModel } from '@heal/actors';
import {
  SimCluster,
  startSimLoad,
  assertLinearizable,
  assertSettledAndEqual,
} from '../../src/index.js';

/** Seeds per scenario: the CPU model's scheduling only adds delays, so a few cover it. */
const SEEDS = 12;

/** A replica's CPU: 20 us a message plus 10 ns a byte; clients 5 us; ticks and flushes a few us. */
const COSTS: CostModel = {
  receiveMs: (to, _kind, bytes) => (to < 5 ? 0.02 + bytes * 1e-5 : 0.005),
  sendMs: (_from, _kind, bytes) => 0.002 + bytes * 2e-6,
  tickMs: () => 0.01,
  startMs: () => 0.2,
  restartMs: () => 0.5,
  flushMs: () => 0.003,
  jobMs: (_id, woke) => (woke ? 0.005 : 0.001),
};

test('with the CPU model (5 replicas and 4 clients sharing 2 cores) a crash and restart stay linearizable', async (t) => {
  let busyMs = 0;
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    const cluster = new SimCluster({
      seed,
      replicas: 5,
      clients: 4,
      medium: 'memory-durable',
      cpu: { costs: COSTS, hosts: [{ cores: 2, ids: [0, 1, 2, 3, 4, 5, 6, 7, 8] }] },
      nic: { bytesPerSec: 50e6 },
    });
    const load = startSimLoad(cluster, seed, {
      keys: 8,
      writeRatio: 0.5,
      opsPerClient: 60,
      thinkMs: 0.2,
      randomReplica: true,
    });
    cluster.sim.runFor(3 + (seed % 7));
    const victim = seed % 5;
    cluster.crash(victim, { reset: seed % 2 === 0 });
    cluster.sim.runFor(30);
    cluster.restart(victim);
    assert.ok(
      cluster.sim.runUntil(() => cluster.replica(victim)?.full === true, 5000),
      `replica ${victim} serves again`,
    );
    assert.ok(
      cluster.sim.runUntil(() => load.running === 0, 20_000),
      `clients finish (${JSON.stringify(load)})`,
    );
    assertLinearizable(cluster);
    assertSettledAndEqual(cluster, 5000);
    for (let id = 0; id < 5; id++) busyMs += cluster.sim.cpuStats(id).busyMs;
  });
  assert.ok(busyMs > 0, 'the replicas were charged CPU time');
});
