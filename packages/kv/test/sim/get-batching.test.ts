import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachSeed, type Endpoint } from '@heal/actors';
import {
  assertLinearizable,
  assertSettledAndEqual,
  KvClient,
  SimCluster,
  startSimLoad,
  type GetMsg,
  type GetOkMsg,
  type KvWire,
} from '../../src/index.js';

test('reads issued while a reply is handled go to each replica as one get and are answered by one get-ok', () => {
  const cluster = new SimCluster({ seed: 7, replicas: 3, clients: 1, history: false });
  const inner = cluster.sim.endpoint(3);
  const gets: { to: number; items: number }[] = [];
  const getOks: GetOkMsg[] = [];
  // The cluster's endpoint, watched: a KvClient on it replaces the cluster's own client.
  const endpoint: Endpoint<KvWire> = {
    self: inner.self,
    send: (to, msg) => {
      if (msg.kind === 'get') gets.push({ to, items: (msg as GetMsg).items.length });
      inner.send(to, msg);
    },
    onMessage: (handler, roundEnd) =>
      inner.onMessage((msg) => {
        if (msg.kind === 'get-ok') getOks.push(msg as GetOkMsg);
        handler(msg);
      }, roundEnd),
    now: () => inner.now(),
    schedule: (delayMs, fn) => inner.schedule(delayMs, fn),
    close: () => inner.close(),
  };
  const client = new KvClient(endpoint, { replicas: 3, timeoutMs: 1000 });
  const keys = ['a', 'b', 'c', 'd', 'e'];
  let written = 0;
  for (const key of keys)
    client.submit({ kind: 'put', key, value: `v-${key}`, replica: 0 }, (err) => {
      assert.ifError(err);
      written++;
    });
  assert.ok(
    cluster.sim.runUntil(() => written === keys.length, 1000),
    'the puts complete',
  );

  const read = new Map<string, string | null>();
  client.submit({ kind: 'get', key: 'a', replica: 2 }, (err, value) => {
    assert.ifError(err);
    read.set('a', value);
    // Inside the client's handling of that answer: these wait for the end of its round.
    for (const key of keys) {
      client.submit({ kind: 'get', key, replica: 1 }, (e, v) => {
        assert.ifError(e);
        read.set(`1:${key}`, v);
      });
    }
    client.submit({ kind: 'get', key: 'zz', replica: 0 }, (e, v) => {
      assert.ifError(e);
      read.set('0:zz', v);
    });
    assert.equal(gets.length, 1, 'nothing sent before the round ends');
  });
  assert.deepEqual(gets, [{ to: 2, items: 1 }], 'a read outside any round goes at once');
  assert.ok(
    cluster.sim.runUntil(() => read.size === keys.length + 2, 1000),
    'the reads complete',
  );
  assert.deepEqual(gets, [
    { to: 2, items: 1 },
    { to: 1, items: keys.length },
    { to: 0, items: 1 },
  ]);
  for (const key of keys) assert.equal(read.get(`1:${key}`), `v-${key}`);
  assert.equal(read.get('0:zz'), null, 'an absent key reads as absent from a batch too');
  const fromReplica1 = getOks.filter((m) => m.sender === 1);
  assert.deepEqual(
    fromReplica1.map((m) => m.items.length),
    [keys.length],
    'one get-ok answers the five reads',
  );
  const valueBytes = (id: number): number | undefined =>
    cluster
      .liveReplicas()
      .find((r) => r.self === id)
      ?.stats()['getValueBytes'];
  assert.deepEqual(
    [0, 1, 2].map(valueBytes),
    [0, 5 * 'v-a'.length, 'v-a'.length],
    'getValueBytes: bytes of the values each replica found',
  );
});

test('clients without think time (each next read sent in the round of the last answer): linearizable, replicas agree', async (t) => {
  await forEachSeed(t, import.meta.url, 100, (seed) => {
    const cluster = new SimCluster({ seed, replicas: 3, clients: 4 });
    const progress = startSimLoad(cluster, seed, {
      keys: 4,
      writeRatio: 0.3,
      opsPerClient: 40,
      thinkMs: 0,
      randomReplica: true,
    });
    assert.ok(
      cluster.sim.runUntil(() => progress.running === 0, 5000),
      'clients finish',
    );
    assert.equal(progress.failed, 0);
    assertLinearizable(cluster);
    assertSettledAndEqual(cluster);
  });
});
