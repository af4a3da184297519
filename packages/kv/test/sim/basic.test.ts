import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachSeed } from '@heal/actors';
import { SimCluster } from '../../src/index.js';
import { startSimLoad } from '../../src/index.js';
import { assertLinearizable, assertSettledAndEqual } from '../../src/index.js';

const SEEDS = 200;

test('no faults: every operation completes, the history is linearizable, replicas agree', async (t) => {
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    const cluster = new SimCluster({ seed, replicas: 3, clients: 4 });
    const progress = startSimLoad(cluster, seed, { keys: 5, writeRatio: 0.5, opsPerClient: 30, thinkMs: 0.5, randomReplica: true });
    assert.ok(cluster.sim.runUntil(() => progress.running === 0, 5000), 'clients finish');
    assert.equal(progress.failed, 0);
    assert.equal(progress.completed, 4 * 30);
    assertLinearizable(cluster);
    assertSettledAndEqual(cluster);
  });
});
