/**
 * The persistency models (ARCHITECTURE.md §5) on every medium, in the simulator: a replica crashes
 * (or every replica loses power) at a seeded random point, and what its medium kept is checked
 * against the model's promise. Histories stay linearizable in every case.
 *
 * - Synch: every completed write is on the medium of every replica that took part.
 * - Strict (and REnf, Synch): a replica's medium keeps a prefix of real-time order: if it kept a
 *   write that started after another completed, it kept that one too (or a later ts of its key).
 * - REnf: no value a read returned is missing, even after a power failure of all replicas.
 * - Scope: every write of a completed persistScope() survives.
 * - Event: nothing promised, but nothing corrupt: every kept value was written to its key.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { forEachSeed, utf8Text, type ActorId } from '@heal/actors';
import { Prng } from '@heal/base';
import {
  compareTs,
  KvClient,
  PERSISTENCY_MODELS,
  SimCluster,
  tsEquals,
  validateReplicaConfig,
  SIM_TIMING,
  type KeyRecord,
  type PersistencyModel,
  type Ts,
} from '../../src/index.js';
import { assertLinearizable, assertSettledAndEqual } from '../../src/index.js';

// The simulator checks logic and simulates its crashes; on tmpfs an fdatasync costs little.
const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'heal-kv-models-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Seeds per model x medium (at least 50 each; HEAL_SEEDS raises it, HEAL_SEED replays one). */
const SEEDS = 100;
const REPLICAS = 3;
/** Seeds per model x medium of the cold-start runs (HEAL_SEEDS raises it, HEAL_SEED replays one). */
const RESTART_SEEDS = 100;
/** Virtual ms from a power failure until power comes back: longer than any message is in flight. */
const RESTART_AFTER_MS = 5;
/** Table slots of a pmem medium: the runs use 6 keys, and a small table formats fast. */
const PMEM_CAPACITY = 64;

interface PutRecord {
  key: string;
  invoked: number;
  returned?: number;
  ts?: Ts;
}

/** What the clients saw, on one logical clock (a counter bumped at every call and return). */
interface Log {
  clock: number;
  puts: Map<string, PutRecord>;
  reads: { key: string; value: string }[];
  scopes: { key: string; ts: Ts }[][];
  running: number;
  /** Set at a power failure: the clients issue nothing more. */
  stopped: boolean;
}

/**
 * Closed-loop clients: puts of unique values (starting with `prefix`), gets, and (Scope)
 * persistScope() calls.
 */
function drive(cluster: SimCluster, seed: number, model: PersistencyModel, prefix = ''): Log {
  const log: Log = {
    clock: 0,
    puts: new Map(),
    reads: [],
    scopes: [],
    running: cluster.clients.length,
    stopped: false,
  };
  cluster.clients.forEach((client, index) => {
    const prng = new Prng(seed * 1000 + index + (prefix === '' ? 0 : 500));
    let issued = 0;
    const next = (): void => {
      if (issued++ >= 30 || log.stopped) {
        log.running--;
        return;
      }
      const key = `k${prng.int(6)}`;
      const replica = prng.int(REPLICAS);
      const then = (): void => cluster.sim.after(prng.range(0, 0.5), 'think', next);
      if (model === 'scope' && prng.chance(0.2)) {
        const items = [...client.scopeWrites].map(([k, ts]) => ({ key: k, ts }));
        client.submitPersistScope((err) => {
          if (!err) log.scopes.push(items);
          then();
        }, replica);
      } else if (prng.chance(0.5)) {
        const value = `${prefix}c${index}-${issued}`;
        const put: PutRecord = { key, invoked: ++log.clock };
        log.puts.set(value, put);
        client.submit({ kind: 'put', key, value, replica }, (err) => {
          if (!err) {
            put.returned = ++log.clock;
            const ts = client.scopeWrites.get(key);
            assert.ok(ts, 'a completed put names its ts');
            put.ts = ts;
          }
          then();
        });
      } else {
        client.submit({ kind: 'get', key, replica }, (err, value) => {
          if (!err && value !== null) log.reads.push({ key, value });
          then();
        });
      }
    };
    cluster.sim.after(prng.range(0, 1), `client ${index} starts`, next);
  });
  return log;
}

/**
 * Checks what one replica's medium kept (after a crash) against the model's promise; returns
 * how many completed writes it lost (neither it nor a later ts of its key kept).
 */
function checkKept(model: PersistencyModel, kept: KeyRecord[], log: Log, who: string): number {
  const byKey = new Map(kept.map((r) => [r.key, r]));
  const holds = (key: string, ts: Ts): boolean => {
    const r = byKey.get(key);
    return r !== undefined && compareTs(r.ts, ts) >= 0;
  };
  const show = (key: string): string => JSON.stringify(byKey.get(key)?.ts ?? null);
  for (const r of kept) {
    const value = utf8Text(r.value);
    const put = log.puts.get(value);
    assert.ok(
      put && put.key === r.key,
      `${who} kept ${r.key}=${value}, which no client wrote to ${r.key}`,
    );
    if (put.ts)
      assert.ok(
        tsEquals(put.ts, r.ts),
        `${who} kept ${r.key}=${value} with another ts than its put's`,
      );
  }
  const completed = [...log.puts.values()].filter(
    (p): p is Required<PutRecord> => p.ts !== undefined,
  );
  if (model === 'synch') {
    for (const p of completed)
      assert.ok(
        holds(p.key, p.ts),
        `synch: ${who} lost completed ${p.key}@${JSON.stringify(p.ts)} (kept ${show(p.key)})`,
      );
  }
  if (model === 'renf') {
    for (const { key, value } of log.reads) {
      const ts = log.puts.get(value)?.ts;
      if (ts)
        assert.ok(
          holds(key, ts),
          `renf: ${who} lost ${key}=${value}, which a read returned (kept ${show(key)})`,
        );
    }
  }
  if (model === 'scope') {
    for (const scope of log.scopes) {
      for (const { key, ts } of scope)
        assert.ok(
          holds(key, ts),
          `scope: ${who} lost ${key}@${JSON.stringify(ts)} of a completed scope`,
        );
    }
  }
  if (model === 'synch' || model === 'strict' || model === 'renf') {
    // A prefix of real-time order: a kept write that started after w1 completed implies w1 kept.
    for (const r of kept) {
      const later = log.puts.get(utf8Text(r.value)) as PutRecord;
      for (const w1 of completed) {
        if (w1.returned < later.invoked) {
          assert.ok(
            holds(w1.key, w1.ts),
            `${model}: ${who} kept ${r.key}@${JSON.stringify(r.ts)} but not ${w1.key}@${JSON.stringify(w1.ts)}, which completed before it started`,
          );
        }
      }
    }
  }
  return completed.filter((p) => !holds(p.key, p.ts)).length;
}

/**
 * Power-failure runs tick slower (background syncs every POWER_TICK_MS), so more writes are
 * past VP and not yet persisted when the power fails: a model that breaks its promise shows.
 */
const POWER_TICK_MS = 3;

function cluster(
  seed: number,
  model: PersistencyModel,
  medium: 'volatile' | 'wal' | 'pmem',
  tag: string,
): SimCluster {
  const dataDir = join(root, `${tag}-${model}-${medium}-${seed}`);
  const timing = tag === 'crash' ? {} : { tickMs: POWER_TICK_MS };
  return new SimCluster({
    seed,
    replicas: REPLICAS,
    clients: 4,
    model,
    medium,
    dataDir,
    pmemCapacity: PMEM_CAPACITY,
    timing,
  });
}

function closeAll(c: SimCluster, dataDir: string): void {
  for (let id: ActorId = 0; id < REPLICAS; id++) c.sim.storage(id).close();
  rmSync(dataDir, { recursive: true, force: true });
}

test('the replica config names a bad persistency model and bad pmem options', () => {
  const base = {
    replicas: 3,
    timing: SIM_TIMING,
    strategy: 'full-copy',
    medium: 'volatile',
  } as const;
  assert.throws(
    () => validateReplicaConfig({ ...base, model: 'lazy' as never }, ['full-copy']),
    /model must be synch\|strict\|renf\|event\|scope, got lazy/,
  );
  for (const model of PERSISTENCY_MODELS) validateReplicaConfig({ ...base, model }, ['full-copy']);
  assert.throws(
    () => validateReplicaConfig({ ...base, pmemCapacity: 0 }, ['full-copy']),
    /pmemCapacity must be a positive integer, got 0/,
  );
  assert.throws(
    () => validateReplicaConfig({ ...base, pmemLatency: 'yes' as never }, ['full-copy']),
    /pmemLatency must be a boolean, got yes/,
  );
});

for (const model of PERSISTENCY_MODELS) {
  for (const medium of ['volatile', 'wal', 'pmem'] as const) {
    test(`${model} on ${medium}: a replica crashed at a random point kept what ${model} promises, restarts, and the run is linearizable`, async (t) => {
      await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
        const c = cluster(seed, model, medium, 'crash');
        const log = drive(c, seed, model);
        const victim = seed % REPLICAS;
        c.sim.runFor(new Prng(seed).range(3, 40));
        c.crash(victim);
        const kept = [...c.sim.storage(victim).records()];
        // Model promises are about durable media; a volatile one keeps nothing at all.
        if (medium === 'volatile') assert.equal(kept.length, 0, 'a volatile medium keeps nothing');
        else checkKept(model, kept, log, `replica ${victim}`);
        c.sim.runFor(5);
        c.restart(victim);
        assert.ok(
          c.sim.runUntil(() => log.running === 0, 20_000),
          `clients finish (${log.running} running)`,
        );
        assertLinearizable(c);
        assertSettledAndEqual(c, 5000);
        closeAll(c, join(root, `crash-${model}-${medium}-${seed}`));
      });
    });
  }
  for (const medium of ['wal', 'pmem'] as const) {
    const failure =
      medium === 'pmem' ? 'a power failure (adversarial pmem)' : 'a crash with a torn log tail';
    test(`${model} on ${medium}: after ${failure} of every replica, each medium kept what ${model} promises`, async (t) => {
      let lost = 0;
      await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
        const c = cluster(seed, model, medium, 'power');
        const log = drive(c, seed, model);
        c.sim.runFor(new Prng(seed).range(3, 40));
        for (let id = 0; id < REPLICAS; id++) c.crash(id);
        for (let id = 0; id < REPLICAS; id++)
          lost += checkKept(model, [...c.sim.storage(id).records()], log, `replica ${id}`);
        assertLinearizable(c);
        closeAll(c, join(root, `power-${model}-${medium}-${seed}`));
      });
      // The failures strike while writes are in flight: the lazy models lose some completed ones.
      if (model === 'event' || model === 'scope')
        assert.ok(lost > 0, `${model}: no power failure lost a completed write`);
      else if (model === 'synch') assert.equal(lost, 0);
    });
    test(`${model} on ${medium}: after ${failure} of every replica, the cluster restarts from the media and serves linearizably from what they kept`, async (t) => {
      let reconciled = 0;
      await forEachSeed(t, import.meta.url, RESTART_SEEDS, (seed) => {
        const c = cluster(seed, model, medium, 'restart');
        const before = drive(c, seed, model);
        c.sim.runFor(new Prng(seed).range(3, 40));
        const epochBefore = Math.max(...c.liveReplicas().map((r) => r.view.epoch));
        c.powerFailure();
        before.stopped = true;
        for (let id = 0; id < REPLICAS; id++)
          checkKept(model, [...c.sim.storage(id).records()], before, `replica ${id}`);
        assertLinearizable(c);
        // Power comes back later: what was on the wire is gone.
        c.sim.runFor(RESTART_AFTER_MS);
        const kept = c.restartAll();
        const epoch = c.coldStart(200);
        assert.ok(
          epoch > epochBefore,
          `the cold-start view's epoch ${epoch} is above every earlier one (${epochBefore})`,
        );
        // The history starts over from what the media kept: reads before any new write return it.
        const after = drive(c, seed, model, 'r');
        assert.ok(
          c.sim.runUntil(() => after.running === 0, 20_000),
          `clients finish (${after.running} running)`,
        );
        assertLinearizable(c);
        assertSettledAndEqual(c, 5000);
        for (const r of c.liveReplicas()) {
          for (const [key, record] of kept) {
            const held = r.records.get(key);
            assert.ok(
              held && compareTs(held.ts, record.ts) >= 0,
              `replica ${r.self} holds ${key} below the ${JSON.stringify(record.ts)} a medium kept`,
            );
          }
          reconciled += r.stats()['coldEntriesApplied'] ?? 0;
        }
        closeAll(c, join(root, `restart-${model}-${medium}-${seed}`));
      });
      assert.ok(reconciled > 0, 'some replica took a newer record from another at a cold start');
    });
  }
}

/** Puts `keys` keys through `client` (one at a time, at replica 0); true when all completed. */
function putAll(c: SimCluster, keys: number, client = c.clients[0]): boolean {
  let done = 0;
  assert.ok(client);
  const next = (i: number): void => {
    if (i === keys) return;
    client.submit({ kind: 'put', key: `p${i}`, value: `v${i}`, replica: 0 }, (err) => {
      assert.ifError(err);
      done++;
      next(i + 1);
    });
  };
  next(0);
  return c.sim.runUntil(() => done === keys, 1000);
}

const stat = (c: SimCluster, id: ActorId, name: string): number =>
  c.replica(id)?.stats()[name] ?? NaN;

test("the Partially-persisted list holds a Scope coordinator's writes until a persistScope() reaches their DP", () => {
  const c = new SimCluster({ seed: 7, replicas: REPLICAS, clients: 1, model: 'scope' });
  assert.ok(c.settle(1000));
  assert.ok(putAll(c, 5));
  c.sim.runFor(20);
  assert.equal(stat(c, 0, 'partiallyPersisted'), 5, 'past VP, not at DP: nobody synced');
  assert.ok(stat(c, 0, 'partiallyPersistedOldestMs') >= 20);
  assert.deepEqual([...(c.replica(0)?.partiallyPersisted() ?? [])].map((e) => e.key).sort(), [
    'p0',
    'p1',
    'p2',
    'p3',
    'p4',
  ]);
  let scoped = false;
  const client = c.clients[0];
  assert.ok(client);
  assert.equal(client.scopeWrites.size, 5);
  client.submitPersistScope((err) => {
    assert.ifError(err);
    scoped = true;
  });
  assert.ok(
    c.sim.runUntil(() => scoped, 1000),
    'persistScope() completes',
  );
  assert.ok(
    c.sim.runUntil(() => stat(c, 0, 'partiallyPersisted') === 0, 100),
    "the scope's sync brought every write to DP",
  );
  assert.equal(stat(c, 0, 'partiallyPersistedOldestMs'), 0);
  assert.equal(client.scopeWrites.size, 0);
});

test('a client made with scope: false keeps no ts for persistScope(), and its persistScope() names the option', () => {
  const c = new SimCluster({ seed: 7, replicas: REPLICAS, clients: 1, model: 'synch' });
  assert.ok(c.settle(1000));
  const self = c.clients[0]?.self as ActorId;
  const client = new KvClient(c.sim.endpoint(self), {
    replicas: REPLICAS,
    timeoutMs: 1000,
    scope: false,
    ...(c.history ? { history: c.history } : {}),
  });
  assert.ok(putAll(c, 5, client));
  assert.equal(client.scopeWrites.size, 0);
  let answer: unknown;
  client.submitPersistScope((err) => {
    answer = err;
  });
  assert.ok(
    answer instanceof RangeError && /scope: false/.test(answer.message),
    `persistScope() fails at once: ${String(answer)}`,
  );
  assertLinearizable(c);
});

test('Synch writes reach DP when they complete; Strict and Event writes reach it in the background', () => {
  for (const model of ['synch', 'strict', 'event'] as const) {
    const c = new SimCluster({ seed: 3, replicas: REPLICAS, clients: 1, model });
    assert.ok(c.settle(1000));
    let maxPartial = 0;
    let done = 0;
    const client = c.clients[0];
    assert.ok(client);
    const next = (i: number): void => {
      if (i === 10) return;
      client.submit({ kind: 'put', key: `p${i % 3}`, value: `v${i}`, replica: 0 }, () => {
        maxPartial = Math.max(maxPartial, stat(c, 0, 'partiallyPersisted'));
        done++;
        next(i + 1);
      });
    };
    next(0);
    assert.ok(c.sim.runUntil(() => done === 10, 1000));
    if (model === 'synch') assert.equal(maxPartial, 0, 'synch: DP = VP');
    else assert.ok(maxPartial > 0, `${model}: some completed writes were not at DP yet`);
    assert.ok(
      c.sim.runUntil(
        () => c.liveReplicas().every((r) => r.stats()['partiallyPersisted'] === 0),
        200,
      ),
      `${model}: DP follows`,
    );
    assert.ok(
      stat(c, 1, 'persistAcksSent') > 0 || model === 'synch',
      'followers sent persist acks',
    );
  }
});

test('an REnf read of a value not yet at DP waits for its DURABLE', () => {
  const c = new SimCluster({ seed: 5, replicas: REPLICAS, clients: 2, model: 'renf' });
  assert.ok(c.settle(1000));
  const [writer, reader] = c.clients;
  assert.ok(writer && reader);
  let read: string | null | undefined;
  writer.submit({ kind: 'put', key: 'x', value: 'new', replica: 0 }, (err) => {
    assert.ifError(err);
    // At VP, before DP: the read waits at replica 1 until the coordinator's DURABLE arrives.
    reader.submit({ kind: 'get', key: 'x', replica: 1 }, (e, value) => {
      assert.ifError(e);
      read = value;
    });
  });
  assert.ok(c.sim.runUntil(() => read !== undefined, 1000));
  assert.equal(read, 'new');
  assert.ok(stat(c, 1, 'readsWaitedDurable') > 0, 'the read waited for DP');
});

test('an REnf read waiting for the DP of a write whose coordinator crashed is served once the new view adopts it', async (t) => {
  let waited = 0;
  await forEachSeed(t, import.meta.url, SEEDS, (seed) => {
    const c = new SimCluster({ seed, replicas: REPLICAS, clients: 2, model: 'renf' });
    assert.ok(c.settle(1000));
    const [writer, reader] = c.clients;
    assert.ok(writer && reader);
    let read: string | null | undefined;
    writer.submit({ kind: 'put', key: 'x', value: 'v', replica: 0 }, (err) => {
      assert.ifError(err);
      // Past VP: the coordinator dies, most likely before its DURABLE; replica 1 must not wait forever.
      c.crash(0);
      reader.submit({ kind: 'get', key: 'x', replica: 1 }, (e, value) => {
        assert.ifError(e);
        read = value;
      });
    });
    assert.ok(
      c.sim.runUntil(() => read !== undefined, 1000),
      'the read is answered',
    );
    assert.equal(read, 'v');
    waited += stat(c, 1, 'readsWaitedDurable');
  });
  assert.ok(waited > 0, 'some reads waited for a DP that the crashed coordinator never announced');
});
