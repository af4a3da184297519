import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachSeed } from '@heal/actors';
import { Prng } from '@heal/base';
import { SimCluster } from '../../src/index.js';
import { startSimLoad } from '../../src/index.js';
import { assertLinearizable, assertSettledAndEqual } from '../../src/index.js';

const SEEDS = 200;

test('no faults: every operation completes, the history is linearizable, replicas agree', async (t) => {
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    const cluster = new SimCluster({ seed, replicas: 3, clients: 4 });
    const progress = startSimLoad(cluster, seed, {
      keys: 5,
      writeRatio: 0.5,
      opsPerClient: 30,
      thinkMs: 0.5,
      randomReplica: true,
    });
    assert.ok(
      cluster.sim.runUntil(() => progress.running === 0, 5000),
      'clients finish',
    );
    assert.equal(progress.failed, 0);
    assert.equal(progress.completed, 4 * 30);
    assertLinearizable(cluster);
    assertSettledAndEqual(cluster);
  });
});

/** Values a user may write: empty, non-ASCII, multi-byte and 4-byte UTF-8, control chars, long. */
const TEXTS = ['', 'null', 'clé', 'ключ', '🔑', '\0\x7f\x80\xff', '値'.repeat(30), 'x'.repeat(200)];

test('values of any text round-trip through replication and the recovery of a restarted replica', async (t) => {
  let nonAsciiReads = 0;
  await forEachSeed(t, import.meta.url, 50, (seed) => {
    const cluster = new SimCluster({ seed, replicas: 3, clients: 2 });
    const prng = new Prng(seed);
    let running = cluster.clients.length;
    cluster.clients.forEach((client, index) => {
      let issued = 0;
      const next = (): void => {
        if (issued++ >= 40) return void running--;
        const key = `k${prng.int(4)}`;
        const replica = prng.int(cluster.replicas);
        // A unique suffix keeps the checker's search exact.
        const value = `${TEXTS[prng.int(TEXTS.length)]}#${index}.${issued}`;
        const op = prng.chance(0.5)
          ? { kind: 'put' as const, key, value, replica }
          : { kind: 'get' as const, key, replica };
        client.submit(op, (err, read) => {
          if (!err && read !== null && /[^\0-\x7f]/.test(read)) nonAsciiReads++;
          next();
        });
      };
      cluster.sim.after(prng.range(0, 1), `client ${index} starts`, next);
    });
    const victim = seed % 3;
    cluster.sim.runFor(2 + (seed % 5));
    cluster.crash(victim);
    cluster.sim.runFor(20);
    cluster.restart(victim);
    assert.ok(
      cluster.sim.runUntil(() => running === 0, 5000),
      'clients finish',
    );
    assertLinearizable(cluster);
    assertSettledAndEqual(cluster);
  });
  assert.ok(nonAsciiReads > 0, 'some reads returned values outside ASCII');
});
