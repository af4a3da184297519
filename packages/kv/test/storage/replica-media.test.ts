import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { forEachSeed, type ActorId, type CrashableStorage } from '@heal/actors';
import {
  createStorage,
  kvReplicaModule,
  MemoryStorage,
  PmemStorage,
  SIM_TIMING,
  SimCluster,
  validateReplicaConfig,
  WalStorage,
  type KvStorage,
  type ReplicaConfig,
  type ReplicaModule,
} from '../../src/index.js';
import { assertLinearizable, assertSettledAndEqual } from '../../src/index.js';
import { startSimLoad } from '../../src/index.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('media');
after(() => tmp.cleanup());
/** Seeds per medium and variant: each run creates real files, so the count stays small. */
const SEEDS = 4;

const base: ReplicaConfig = {
  replicas: 3,
  timing: SIM_TIMING,
  strategy: 'full-copy',
  medium: 'volatile',
};

test('the replica config names what is wrong with medium and dataDir', () => {
  assert.throws(
    () => validateReplicaConfig({ ...base, medium: 'disk' as never }, ['full-copy']),
    /medium must be volatile\|memory-durable\|wal\|pmem, got disk/,
  );
  assert.throws(
    () => validateReplicaConfig({ ...base, medium: 'wal' }, ['full-copy']),
    /dataDir must be a non-empty directory path for medium wal, got undefined/,
  );
  assert.throws(
    () => validateReplicaConfig({ ...base, medium: 'pmem', dataDir: '' }, ['full-copy']),
    /dataDir must be a non-empty directory path for medium pmem/,
  );
  assert.throws(() => createStorage(0, { ...base, medium: 'pmem' }), /dataDir must be/);
  validateReplicaConfig({ ...base, medium: 'wal', dataDir: tmp.dir }, ['full-copy']);
  validateReplicaConfig({ ...base, medium: 'memory-durable', dataDir: tmp.dir }, ['full-copy']);
});

test('createStorage builds each medium, file-backed ones at dataDir/replica-<id>.<medium>', () => {
  const dataDir = join(tmp.dir, 'create', 'nested');
  assert.ok(createStorage(1, base) instanceof MemoryStorage);
  assert.equal(createStorage(1, { ...base, medium: 'memory-durable' }).medium, 'memory-durable');
  const wal = createStorage(2, { ...base, medium: 'wal', dataDir });
  assert.ok(wal instanceof WalStorage);
  assert.ok(statSync(join(dataDir, 'replica-2.wal')).isDirectory());
  const pmem = createStorage(2, { ...base, medium: 'pmem', dataDir });
  assert.ok(pmem instanceof PmemStorage);
  assert.ok(statSync(join(dataDir, 'replica-2.pmem')).isFile());
  wal.close();
  pmem.close();
  assert.equal(existsSync(join(dataDir, 'replica-3.wal')), false);
});

type Durable = KvStorage & CrashableStorage;

/** Test-only: a medium synced after every write, standing in for a persistency model. */
function syncEveryWrite(inner: Durable): Durable {
  return {
    medium: inner.medium,
    get size() {
      return inner.size;
    },
    get: (key) => inner.get(key),
    records: () => inner.records(),
    recordsInBuckets: (buckets) => inner.recordsInBuckets(buckets),
    notValid: () => inner.notValid(),
    loadDigest: () => inner.loadDigest(),
    openReport: () => inner.openReport(),
    write: (r) => {
      inner.write(r);
      inner.sync();
    },
    sync: (vv) => inner.sync(vv),
    loadVersionVector: () => inner.loadVersionVector(),
    loadSeqHighWater: () => inner.loadSeqHighWater(),
    saveSeqHighWater: (seq) => inner.saveSeqHighWater(seq),
    loadEpoch: () => inner.loadEpoch(),
    saveEpoch: (epoch) => inner.saveEpoch(epoch),
    close: () => inner.close(),
    crash: (seed) => inner.crash(seed),
  };
}

/** The kv module with `medium` in `dataDir` forced into every replica's config. */
function moduleWith(medium: 'wal' | 'pmem', dataDir: string, syncEach: boolean): ReplicaModule {
  const withMedium = (c: ReplicaConfig): ReplicaConfig => ({ ...c, medium, dataDir });
  return {
    codec: kvReplicaModule.codec,
    createActor: (self, c) => kvReplicaModule.createActor(self, withMedium(c)),
    createStorage: (self, c) => {
      const storage = createStorage(self, withMedium(c)) as Durable;
      return syncEach ? syncEveryWrite(storage) : storage;
    },
  };
}

function untilPendingWrite(cluster: SimCluster, id: ActorId, limitMs: number): boolean {
  return cluster.sim.runUntil(
    () => (cluster.replica(id)?.stats()['pendingWrites'] ?? 0) > 0,
    limitMs,
  );
}

for (const medium of ['wal', 'pmem'] as const) {
  for (const syncEach of [false, true]) {
    const variant = syncEach
      ? 'synced after every write'
      : 'written without sync (the current replica)';
    test(`${medium} ${variant}: a replica crashed mid-write restarts from its medium, and the run is linearizable`, async (t) => {
      let keptWrite = 0;
      await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
        const dataDir = join(tmp.dir, `${medium}-${syncEach}-${seed}`);
        const module = moduleWith(medium, dataDir, syncEach);
        const cluster = new SimCluster({ seed, replicas: 3, clients: 4, module });
        const progress = startSimLoad(cluster, seed, {
          keys: 6,
          writeRatio: 0.5,
          opsPerClient: 30,
          thinkMs: 0.5,
          randomReplica: true,
        });
        const victim = seed % 3;
        if (untilPendingWrite(cluster, victim, 50)) {
          cluster.crash(victim);
          const kept = [...cluster.sim.storage(victim).records()];
          if (syncEach) assert.ok(kept.length > 0, 'a synced medium kept records across the crash');
          if (kept.some((r) => r.state === 'write')) keptWrite++;
          cluster.sim.runFor(5);
          cluster.restart(victim);
        }
        assert.ok(
          cluster.sim.runUntil(() => progress.running === 0, 20_000),
          `clients finish (${JSON.stringify(progress)})`,
        );
        assertLinearizable(cluster);
        assertSettledAndEqual(cluster, 5000);
        for (let id = 0; id < 3; id++) cluster.sim.storage(id).close();
      });
      if (syncEach) assert.ok(keptWrite > 0, 'some restarts found a record left in Write');
    });
  }
}
