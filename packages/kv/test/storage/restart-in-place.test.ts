/**
 * A replica restarting from a medium that keeps its records loads them in place: it holds only
 * those that were not Valid (to replay them), reads the others from the medium on first touch,
 * and is handed the digest the medium kept, equal to the digest of its records. The runs stay
 * linearizable and end with equal replicas, on every durable medium.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { forEachSeed, type ActorId } from '@heal/actors';
import {
  assertLinearizable,
  assertSettledAndEqual,
  fullCopyRecovery,
  createReplicaModule,
  digestLanesOf,
  SimCluster,
  startSimLoad,
  type RecoveryContext,
  type RecoveryStrategy,
  type RecoveryStrategyFactory,
} from '../../src/index.js';
import { HeldRecords } from '../../src/protocol/held-records.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('in-place');
after(() => tmp.cleanup());
const SEEDS = 2;
const DATASET = { keys: 200, valueSizes: { bytes: [16], weights: [1] } };

interface Observed {
  restarts: number;
  heldNotValid: number;
}

/** Copy recovery, observing what each restarted replica has when its strategy starts. */
function observing(observed: Observed): RecoveryStrategyFactory {
  const check = (ctx: RecoveryContext): void => {
    if (ctx.incarnation === 0) return;
    const records = ctx.records();
    assert.ok(records instanceof HeldRecords);
    const held = [...records.held()];
    assert.ok(
      held.every((r) => r.state === 'invalid'),
      'at start only the not-Valid records are held, as Invalid',
    );
    assert.equal(records.size, held.length + records.coldSize);
    assert.deepEqual(
      ctx.loadedDigest(),
      digestLanesOf(records.values()),
      'the digest the medium kept is that of the records',
    );
    observed.restarts++;
    observed.heldNotValid += held.length;
  };
  return {
    name: fullCopyRecovery.name,
    messages: fullCopyRecovery.messages,
    create: (self, options) => {
      const inner = fullCopyRecovery.create(self, options);
      return new Proxy(inner, {
        get(target, prop, receiver): unknown {
          if (prop === 'onStart') {
            return (ctx: RecoveryContext): void => {
              check(ctx);
              target.onStart?.(ctx);
            };
          }
          const v: unknown = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      }) as RecoveryStrategy;
    },
  };
}

function untilPendingWrite(cluster: SimCluster, id: ActorId, limitMs: number): boolean {
  return cluster.sim.runUntil(
    () => (cluster.replica(id)?.stats()['pendingWrites'] ?? 0) > 0,
    limitMs,
  );
}

for (const medium of ['memory-durable', 'wal', 'pmem'] as const) {
  test(`${medium}: a restarted replica holds only its not-Valid records, gets the kept digest, and the run is linearizable`, async (t) => {
    const observed: Observed = { restarts: 0, heldNotValid: 0 };
    const module = createReplicaModule([observing(observed)]);
    await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
      const dataDir = join(tmp.dir, `${medium}-${seed}`);
      const cluster = new SimCluster({
        seed,
        replicas: 3,
        clients: 4,
        module,
        medium,
        dataDir,
        dataset: DATASET,
        pmemCapacity: 512,
      });
      const progress = startSimLoad(cluster, seed, {
        keys: 20,
        writeRatio: 0.5,
        opsPerClient: 40,
        thinkMs: 0.5,
        randomReplica: true,
      });
      const victim = 1 + (seed % 2);
      assert.ok(untilPendingWrite(cluster, victim, 50), 'the victim has a write in flight');
      cluster.crash(victim);
      cluster.sim.runFor(5);
      cluster.restart(victim);
      const stats = cluster.replica(victim)?.stats() ?? {};
      assert.ok(
        (stats['coldKeys'] ?? 0) >= DATASET.keys - 20,
        `the restarted replica left its records on the medium (${stats['coldKeys']} cold)`,
      );
      assert.ok(
        cluster.sim.runUntil(() => progress.running === 0, 20_000),
        `clients finish (${JSON.stringify(progress)})`,
      );
      assertLinearizable(cluster);
      assertSettledAndEqual(cluster, 5000);
      for (let id = 0; id < 3; id++) cluster.sim.storage(id).close();
    });
    assert.equal(observed.restarts, SEEDS);
    assert.ok(observed.heldNotValid > 0, 'some restart held a record the crash left not Valid');
  });
}
