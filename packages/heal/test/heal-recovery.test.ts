import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachSeed } from '@heal/actors';
import {
  assertLinearizable,
  assertSettledAndEqual,
  createReplicaModule,
  fullCopyRecovery,
  SimCluster,
  startSimLoad,
  type KvWire,
  type SimClusterOptions,
} from '@heal/kv';
import { healRecovery } from '../src/index.js';

const MODULE = createReplicaModule([healRecovery, fullCopyRecovery]);
const DATASET = { keys: 300, valueSizes: { bytes: [24, 40], weights: [1, 1] } };
const SEEDS = 30;

function cluster(seed: number, extra: Partial<SimClusterOptions> = {}): SimCluster {
  return new SimCluster({
    seed,
    replicas: 5,
    clients: 4,
    module: MODULE,
    strategy: 'heal',
    medium: 'memory-durable',
    dataset: DATASET,
    ...extra,
  });
}

test('heal: a crashed replica rejoins from its Buddy buffer, under load, linearizable and equal after', async (t) => {
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    const c = cluster(seed);
    const load = startSimLoad(c, seed, {
      keys: DATASET.keys,
      writeRatio: 0.5,
      opsPerClient: Infinity,
      thinkMs: 0.5,
      randomReplica: true,
    });
    const victim = seed % 5;
    c.sim.runFor(20);
    c.crash(victim);
    c.sim.runFor(100);
    c.restart(victim, { strategy: 'heal' });
    const outcome = c.recover(victim, 2000);
    c.sim.runFor(20);
    load.stop();
    assert.ok(
      c.sim.runUntil(() => load.running === 0, 5000),
      'clients finish',
    );
    assert.equal(outcome.strategy, 'heal');
    assert.equal(outcome.counts['bufferSessions'], 1, `buffer mode: ${JSON.stringify(outcome)}`);
    assert.ok(outcome.missedKeys > 0, 'the replica missed writes');
    assert.ok(
      outcome.bytesMoved <= 3 * outcome.missedBytes + 2000,
      `moved ${outcome.bytesMoved} for ${outcome.missedBytes} missed`,
    );
    for (const phase of ['load', 'join', 'startToAck', 'exchange', 'replay', 'finalize']) {
      assert.ok(phase in outcome.phasesMs, `phase ${phase} in ${JSON.stringify(outcome.phasesMs)}`);
    }
    assertLinearizable(c);
    assertSettledAndEqual(c, 5000);
  });
});

test('heal: clients ask no ShadowReplica, and ask the replica again once it is full', async (t) => {
  await forEachSeed(t, import.meta.url, 10, (seed) => {
    const c = cluster(seed);
    const load = startSimLoad(c, seed, {
      keys: DATASET.keys,
      writeRatio: 0.2,
      opsPerClient: Infinity,
      thinkMs: 0.5,
      randomReplica: true,
    });
    const victim = 1 + (seed % 4);
    c.sim.runFor(20);
    c.crash(victim);
    c.sim.runFor(100);
    c.restart(victim, { strategy: 'heal' });
    c.recover(victim, 2000);
    const joiner = c.replica(victim);
    assert.ok(joiner, 'the restarted replica runs');
    // A read sent to a shadow is answered not-serving, a write is forwarded: a round trip
    // through the replica busiest recovering, for nothing.
    const whileShadow = joiner.stats();
    assert.equal(
      whileShadow['notServing'],
      0,
      `not-serving answers: ${JSON.stringify(whileShadow)}`,
    );
    assert.equal(whileShadow['forwarded'], 0, `forwarded writes: ${JSON.stringify(whileShadow)}`);
    c.sim.runFor(50);
    const served = joiner.stats()['readsServed'] ?? 0;
    assert.ok(served > (whileShadow['readsServed'] ?? 0), `reads served once full: ${served}`);
    load.stop();
    assert.ok(
      c.sim.runUntil(() => load.running === 0, 5000),
      'clients finish',
    );
    assertLinearizable(c);
    assertSettledAndEqual(c, 5000);
  });
});

test('heal: a replica whose medium kept nothing is found out by Merkle descent', async (t) => {
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    const c = cluster(seed, { medium: 'volatile' });
    const load = startSimLoad(c, seed, {
      keys: DATASET.keys,
      writeRatio: 0.5,
      opsPerClient: Infinity,
      thinkMs: 0.5,
      randomReplica: true,
    });
    c.sim.runFor(20);
    c.crash(1);
    c.sim.runFor(50);
    c.restart(1);
    const outcome = c.recover(1, 2000);
    load.stop();
    assert.ok(
      c.sim.runUntil(() => load.running === 0, 5000),
      'clients finish',
    );
    assert.equal(outcome.counts['descentSessions'], 1, JSON.stringify(outcome));
    assert.ok(outcome.entriesApplied >= DATASET.keys * 0.9, `applied ${outcome.entriesApplied}`);
    assertLinearizable(c);
    assertSettledAndEqual(c, 5000);
  });
});

test('heal on pmem: the restarted replica keeps its medium and gets only what it missed', async (t) => {
  await forEachSeed(t, import.meta.url, 10, (seed) => {
    const dir = mkdtempSync(join(tmpdir(), 'heal-pmem-'));
    try {
      const c = cluster(seed, {
        medium: 'pmem',
        dataDir: dir,
        pmemCapacity: 512,
        pmemLatency: false,
      });
      const load = startSimLoad(c, seed, {
        keys: DATASET.keys,
        writeRatio: 0.3,
        opsPerClient: Infinity,
        thinkMs: 0.5,
        randomReplica: true,
      });
      c.sim.runFor(20);
      c.crash(2);
      c.sim.runFor(60);
      c.restart(2);
      const outcome = c.recover(2, 2000);
      load.stop();
      assert.ok(
        c.sim.runUntil(() => load.running === 0, 5000),
        'clients finish',
      );
      assert.equal(outcome.counts['bufferSessions'], 1, JSON.stringify(outcome));
      assert.ok(
        outcome.entriesReceived < DATASET.keys,
        `received ${outcome.entriesReceived} of ${DATASET.keys}`,
      );
      assertLinearizable(c);
      assertSettledAndEqual(c, 5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('heal on pmem: a restarted replica joins with the digest its medium kept, so a descent with nothing missed finds no bucket', async (t) => {
  await forEachSeed(t, import.meta.url, 4, (seed) => {
    const dir = mkdtempSync(join(tmpdir(), 'heal-pmem-digest-'));
    try {
      const c = cluster(seed, {
        medium: 'pmem',
        dataDir: dir,
        pmemCapacity: 512,
        pmemLatency: false,
      });
      c.sim.runFor(20);
      c.crash(2);
      c.sim.runFor(60);
      c.crash(3); // its Buddy: the next one has no buffer for it and runs a descent
      c.sim.runFor(60);
      c.restart(2);
      const outcome = c.recover(2, 2000);
      assert.equal(outcome.counts['descentSessions'], 1, JSON.stringify(outcome));
      assert.equal(outcome.entriesReceived, 0, JSON.stringify(outcome));
      // Equal roots: no node or key request reached it (a wrong digest draws requests for every bucket).
      assert.ok(outcome.bytesMoved < 500, `moved ${outcome.bytesMoved} bytes`);
      assertSettledAndEqual(c, 5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('heal: with a cluster key, a digest signed with another key is rejected and the replica never serves reads', () => {
  const KEY = '00112233445566778899aabbccddeeff';
  const FORGER = 'ffeeddccbbaa99887766554433221100';
  const forging = {
    ...healRecovery,
    create: (self: number, options: Record<string, string | number | boolean>) =>
      healRecovery.create(self, self === 2 ? { ...options, clusterKey: FORGER } : options),
  };
  const c = cluster(7, {
    module: createReplicaModule([forging]),
    strategyOptions: { clusterKey: KEY },
  });
  c.sim.runFor(20);
  c.crash(2);
  c.sim.runFor(40);
  c.restart(2);
  c.sim.runFor(300);
  const joiner = c.replica(2);
  assert.ok(joiner && !joiner.full, 'the forger is not a full replica');
  assert.ok((joiner.stats()['joinsRejected'] ?? 0) > 0, 'its joins were rejected');
  const rejected = c.liveReplicas().reduce((n, r) => n + (r.stats()['digestsRejected'] ?? 0), 0);
  assert.ok(rejected > 0, 'the Buddy rejected the forged digest');

  const honest = cluster(7, { strategyOptions: { clusterKey: KEY } });
  honest.sim.runFor(20);
  honest.crash(2);
  honest.sim.runFor(40);
  honest.restart(2);
  assert.equal(
    honest.recover(2, 2000).counts['bufferSessions'],
    1,
    'a digest signed with the cluster key is accepted',
  );
});

test('heal: a large descent selection is streamed by three replicas in parallel', async (t) => {
  await forEachSeed(t, import.meta.url, 10, (seed) => {
    const dataset = { keys: 3000, valueSizes: { bytes: [16], weights: [1] } };
    const c = cluster(seed, { medium: 'volatile', dataset });
    const load = startSimLoad(c, seed, {
      keys: dataset.keys,
      writeRatio: 0.5,
      opsPerClient: Infinity,
      thinkMs: 0.5,
      randomReplica: true,
    });
    c.sim.runFor(20);
    c.crash(4);
    c.sim.runFor(30);
    c.restart(4);
    const outcome = c.recover(4, 5000);
    load.stop();
    assert.ok(
      c.sim.runUntil(() => load.running === 0, 5000),
      'clients finish',
    );
    assert.equal(outcome.counts['descentSessions'], 1, JSON.stringify(outcome));
    assert.equal(outcome.counts['parallelSources'], 3, JSON.stringify(outcome.counts));
    assert.ok(
      outcome.entriesApplied >= dataset.keys * 0.95,
      `applied ${outcome.entriesApplied} (a few came newer by INV)`,
    );
    const assisted = c.liveReplicas().reduce((n, r) => n + (r.stats()['sessionsAssisted'] ?? 0), 0);
    assert.ok(assisted >= 2, `two helpers streamed (${assisted})`);
    assertLinearizable(c);
    assertSettledAndEqual(c, 5000);
  });
});

test('heal: with a cluster key, a digest whose kept flag or session was altered in flight is rejected', () => {
  const KEY = '00112233445566778899aabbccddeeff';
  for (const alter of ['kept', 'session'] as const) {
    // A volatile joiner kept nothing: claiming it kept its records would skip almost the whole store.
    const c = cluster(11, { medium: 'volatile', strategyOptions: { clusterKey: KEY } });
    const send = c.sim.transmit.bind(c.sim);
    c.sim.transmit = (from, to, msg) => {
      if (msg.kind !== 'heal-join') return send(from, to, msg);
      const forged =
        alter === 'kept'
          ? { ...msg, kept: true }
          : { ...msg, session: (msg['session'] as number) + 1 };
      return send(from, to, forged);
    };
    c.sim.runFor(20);
    c.crash(2);
    c.sim.runFor(40);
    c.restart(2);
    c.sim.runFor(300);
    assert.ok(!c.replica(2)?.full, `altered ${alter}: the joiner never serves`);
    const rejected = c.liveReplicas().reduce((n, r) => n + (r.stats()['digestsRejected'] ?? 0), 0);
    assert.ok(rejected > 0, `altered ${alter}: the Buddy rejected the digest`);
  }
});

test('heal: a digest replayed after its session ended is refused', () => {
  const c = cluster(12, { strategyOptions: { clusterKey: '00112233445566778899aabbccddeeff' } });
  let captured: { from: number; to: number; msg: KvWire } | undefined;
  const send = c.sim.transmit.bind(c.sim);
  c.sim.transmit = (from, to, msg) => {
    if (msg.kind === 'heal-join') captured ??= { from, to, msg };
    return send(from, to, msg);
  };
  c.sim.runFor(20);
  c.crash(2);
  c.sim.runFor(40);
  c.restart(2);
  c.recover(2, 2000);
  assert.ok(captured, 'the joiner sent its digest');
  const buddy = c.replica(captured.to);
  const served = buddy?.stats()['sessionsServed'];
  send(captured.from, captured.to, captured.msg);
  c.sim.runFor(20);
  assert.equal(buddy?.stats()['digestsReplayed'], 1, 'the replay was refused');
  assert.equal(buddy?.stats()['sessionsServed'], served, 'no session was opened for it');
});
