import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachSeed } from '@heal/actors';
import { assertLinearizable, SimCluster, type KvClient, type Replica } from '../../src/index.js';

/** Leases long enough to outlive the view changes below (the bug needs a lease still held). */
const TIMING = { leaseMs: 40, leaseRenewMs: 10 };
const HOLDER = 2;

function put(
  cluster: SimCluster,
  client: KvClient,
  key: string,
  value: string,
  replica: number,
): boolean {
  let done = false;
  client.submit({ kind: 'put', key, value, replica }, (err) => {
    done = err === undefined;
  });
  return cluster.sim.runUntil(() => done, 200);
}

/**
 * A read lease carried into a view that grew from 3 members to 5: a majority of the new view
 * (3 of 5) can miss the 2 of 3 that granted the lease, drop the holder at once and complete a
 * write without it. So a lease is carried over only into a view each of whose majorities meets
 * each majority of the view that granted it; otherwise the holder asks for a new one.
 */
test('a view that grows by two does not carry a lease a disjoint majority could ignore', async (t) => {
  await forEachSeed(t, import.meta.url, 20, (seed) => {
    const cluster = new SimCluster({ seed, replicas: 5, clients: 2, timing: TIMING });
    const [writer, reader] = cluster.clients as [KvClient, KvClient];
    assert.ok(put(cluster, writer, 'k', 'old', 0), 'the first write completes');
    cluster.crash(3);
    cluster.crash(4);
    const three = (): boolean =>
      cluster.liveReplicas().every((r) => r.view.members.length === 3 && r.holdsLease());
    assert.ok(cluster.sim.runUntil(three, 500), 'a view of 0, 1, 2 with leases');
    // 0 misses one lease request of the holder (for less than a suspicion period): that lease,
    // the holder's latest, is granted by 1 and itself only.
    const holder = cluster.replica(HOLDER) as Replica;
    const renewed = (): (() => boolean) => {
      const until = holder.leaseUntilMs;
      return () => holder.leaseUntilMs > until;
    };
    assert.ok(cluster.sim.runUntil(renewed(), 100), 'the holder renews its lease');
    cluster.sim.network.setLink(0, HOLDER, { lossRate: 1 });
    cluster.sim.network.setLink(HOLDER, 0, { lossRate: 1 });
    assert.ok(cluster.sim.runUntil(renewed(), 100), 'the holder renews its lease without 0');
    cluster.sim.network.setLink(0, HOLDER, { lossRate: 0 });
    cluster.sim.network.setLink(HOLDER, 0, { lossRate: 0 });
    cluster.restart(3);
    cluster.restart(4);
    const grown = (): boolean => cluster.replica(HOLDER)?.view.members.length === 5;
    assert.ok(cluster.sim.runUntil(grown, 200), 'the holder installs the view of five');
    // Cut off with the reader: 0, 3 and 4 are a majority of five that granted it nothing.
    cluster.sim.network.partition([[HOLDER, reader.self]]);
    const dropped = (): boolean =>
      cluster.replica(0)?.view.members.every((m) => m.id !== HOLDER) === true;
    assert.ok(cluster.sim.runUntil(dropped, 500), 'a view without the holder');
    assert.ok(put(cluster, writer, 'k', 'new', 0), 'a write completes without the holder');
    reader.submit({ kind: 'get', key: 'k', replica: HOLDER }, () => undefined);
    cluster.sim.runFor(5 * TIMING.leaseMs);
    assertLinearizable(cluster);
  });
});
