import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHistory, SimCluster } from '../../src/index.js';
import { startSimLoad } from '../../src/index.js';

test('the checker catches a broken protocol that serves reads of Invalid keys', () => {
  let caught: number | undefined;
  for (let seed = 1; seed <= 50 && caught === undefined; seed++) {
    const cluster = new SimCluster({
      seed,
      replicas: 3,
      clients: 4,
      faults: { readWhileInvalid: true },
      network: { minMs: 0.05, maxMs: 2 },
    });
    const progress = startSimLoad(cluster, seed, {
      keys: 2,
      writeRatio: 0.4,
      opsPerClient: 40,
      thinkMs: 0.2,
      randomReplica: true,
    });
    cluster.sim.runUntil(() => progress.running === 0, 5000);
    const result = checkHistory(cluster.history!.history());
    if (!result.ok) caught = seed;
  }
  assert.notEqual(caught, undefined, 'some seed must produce a non-linearizable history');
});

test('the same workload without the fault is linearizable on those seeds', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const cluster = new SimCluster({
      seed,
      replicas: 3,
      clients: 4,
      network: { minMs: 0.05, maxMs: 2 },
    });
    const progress = startSimLoad(cluster, seed, {
      keys: 2,
      writeRatio: 0.4,
      opsPerClient: 40,
      thinkMs: 0.2,
      randomReplica: true,
    });
    cluster.sim.runUntil(() => progress.running === 0, 5000);
    assert.equal(checkHistory(cluster.history!.history()).ok, true, `seed ${seed}`);
  }
});
