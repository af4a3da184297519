import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachSeed } from '@heal/actors';
import {
  assertLinearizable,
  assertSettledAndEqual,
  SimCluster,
  startSimLoad,
  type KvWire,
  type RecoveryOutcome,
  type SimClusterOptions,
} from '@heal/kv';
import { healReplicaModule } from '../src/index.js';

/**
 * A lost recovery message is sent again by the side waiting for it: the recovery goes on in
 * the same session instead of starting over (which would throw away a Buddy's buffer or a
 * finished descent).
 */
const SEEDS = 20;
const DATASET = { keys: 200, valueSizes: { bytes: [16], weights: [1] } };

/** A replica crashed, restarted and recovered under load, with the first `lose` message dropped. */
function recoverLosing(
  seed: number,
  lose: KvWire['kind'],
  options: Partial<SimClusterOptions>,
): { c: SimCluster; outcome: RecoveryOutcome; lost: boolean } {
  const c = new SimCluster({
    seed,
    replicas: 5,
    clients: 3,
    module: healReplicaModule,
    strategy: 'heal',
    dataset: DATASET,
    ...options,
  });
  const load = startSimLoad(c, seed, {
    keys: DATASET.keys,
    writeRatio: 0.5,
    opsPerClient: Infinity,
    thinkMs: 0.5,
    randomReplica: true,
  });
  const victim = seed % 5;
  c.sim.runFor(10);
  c.crash(victim);
  c.sim.runFor(30);
  let lost = false;
  const stop = c.sim.dropWhere((_from, _to, msg) => {
    if (lost || msg.kind !== lose) return false;
    lost = true;
    return true;
  });
  c.restart(victim);
  const outcome = c.recover(victim, 5000);
  stop();
  c.sim.runFor(10);
  load.stop();
  assert.ok(
    c.sim.runUntil(() => load.running === 0, 5000),
    'clients finish',
  );
  assertLinearizable(c);
  assertSettledAndEqual(c, 5000);
  return { c, outcome, lost };
}

/** The joiner ran one session: nothing made it start over. */
function oneSession(c: SimCluster, victim: number): void {
  const stats = c.replica(victim)?.stats() ?? {};
  assert.equal(stats['healSessions'], 1, `one join session: ${JSON.stringify(stats)}`);
}

for (const lose of ['heal-keys-request', 'heal-keys'] as const) {
  test(`heal: a lost ${lose} is asked again and the descent's session goes on`, async (t) => {
    await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
      // A volatile medium keeps nothing: the Buddy finds what the joiner lacks by descent.
      const { c, outcome, lost } = recoverLosing(seed, lose, { medium: 'volatile' });
      assert.ok(lost, `a ${lose} was lost`);
      assert.equal(outcome.counts['descentSessions'], 1, JSON.stringify(outcome.counts));
      oneSession(c, seed % 5);
      const resent = c
        .liveReplicas()
        .reduce((n, r) => n + (r.stats()['keysRequestsResent'] ?? 0), 0);
      assert.ok(resent >= 1, 'the Buddy asked for the keys again');
    });
  });
}

test('heal: a lost heal-done-ok is confirmed again, not answered by a new descent', async (t) => {
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    const { c, outcome, lost } = recoverLosing(seed, 'heal-done-ok', { medium: 'memory-durable' });
    assert.ok(lost, 'a heal-done-ok was lost');
    assert.equal(outcome.counts['bufferSessions'], 1, JSON.stringify(outcome.counts));
    assert.equal(outcome.counts['descentSessions'], undefined, JSON.stringify(outcome.counts));
    oneSession(c, seed % 5);
  });
});

test('heal: handoffs that reach the Buddy before the view re-admitting the replica are freed', async (t) => {
  let early = 0;
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    const c = new SimCluster({
      seed,
      replicas: 5,
      clients: 3,
      module: healReplicaModule,
      strategy: 'heal',
      medium: 'memory-durable',
      dataset: DATASET,
    });
    const load = startSimLoad(c, seed, {
      keys: DATASET.keys,
      writeRatio: 0.5,
      opsPerClient: Infinity,
      thinkMs: 0.5,
      randomReplica: true,
    });
    const victim = 2;
    // The Buddy of 2 (replica 3) hears of views late: handoffs sent in a new view overtake it.
    c.sim.network.setLink(0, 3, { minMs: 3, maxMs: 4 });
    c.sim.network.setLink(1, 3, { minMs: 3, maxMs: 4 });
    c.sim.runFor(10);
    c.crash(victim);
    // Restarted before it is suspected: one view replaces its old incarnation with the new one.
    c.sim.runFor(1);
    c.restart(victim);
    c.recover(victim, 5000);
    c.sim.runFor(20);
    load.stop();
    assert.ok(
      c.sim.runUntil(() => load.running === 0, 5000),
      'clients finish',
    );
    assertSettledAndEqual(c, 5000);
    early += c.replica(3)?.stats()['handoffItemsEarly'] ?? 0;
    for (const r of c.liveReplicas())
      assert.equal(r.stats()['earlyHandoffItems'], 0, `replica ${r.self} keeps no early handoff`);
  });
  assert.ok(early > 0, 'handoffs reached the Buddy before the view');
});
