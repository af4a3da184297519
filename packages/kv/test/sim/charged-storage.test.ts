import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteStringOf } from '@heal/actors';
import {
  ChargedStorage,
  COST_PROFILE_FORMAT,
  MemoryStorage,
  SimCluster,
  assertLinearizable,
  assertSettledAndEqual,
  startSimLoad,
  type CostProfile,
  type KeyRecord,
  type MediumCosts,
} from '../../src/index.js';

const ZERO = { ns: 0, nsPerByte: 0 };
const FREE_MEDIUM: MediumCosts = {
  openNs: 0,
  openNsPerRecord: 0,
  read: ZERO,
  write: ZERO,
  sync: { ns: 0, nsPerRecord: 0, nsPerByte: 0 },
  saveNs: 0,
};
const FREE_PARTY = {
  receive: {},
  receiveDefault: ZERO,
  send: ZERO,
  tickNs: 0,
  flushNs: 0,
  jobNs: 0,
  wakeNs: 0,
};

function profile(media: Record<string, MediumCosts>): CostProfile {
  return {
    format: COST_PROFILE_FORMAT,
    name: 'test',
    measuredAt: 'never',
    machine: {},
    method: 'made up',
    replica: { ...FREE_PARTY, startNs: 0, restartNs: 0, startRecordNs: { copy: 0 } },
    client: FREE_PARTY,
    media,
  };
}

const record = (key: string, value: string): KeyRecord => ({
  key,
  ts: { version: 2, cid: 0 },
  value: byteStringOf(Buffer.from(value)),
  state: 'valid',
  origin: 0,
  seq: 1,
});

test('a charged medium charges its open, each operation, a sync what was written since the last one, each record read', () => {
  const costs: MediumCosts = {
    openNs: 1000,
    openNsPerRecord: 30,
    read: { ns: 100, nsPerByte: 10 },
    write: { ns: 50, nsPerByte: 1 },
    sync: { ns: 2000, nsPerRecord: 300, nsPerByte: 2 },
    saveNs: 700,
  };
  const charged: number[] = [];
  const storage = new ChargedStorage(
    new MemoryStorage(true),
    costs,
    40,
    (ms) => charged.push(ms * 1e6),
    { on: true },
  );
  storage.write(record('k1', 'abcd'));
  storage.write(record('k22', 'ab'));
  storage.sync();
  storage.saveEpoch(3);
  storage.sync();
  assert.deepEqual(
    charged.map(Math.round),
    [1000, 50 + 6, 50 + 5, 2000 + 2 * 300 + 2 * 11, 700, 2000],
    'the first operation opens it (empty)',
  );
  charged.length = 0;
  storage.crash(1);
  assert.equal(storage.get('k1')?.key, 'k1');
  assert.equal(storage.get('absent'), undefined);
  assert.deepEqual(
    charged.map(Math.round),
    [1000 + (30 + 40) * 2, 100 + 10 * 6],
    'a restart opens it again (2 records), then reads k1 in place; a miss reads nothing',
  );
  charged.length = 0;
  assert.equal([...storage.records()].length, 2);
  assert.deepEqual(storage.notValid(), []);
  assert.deepEqual(
    charged.map(Math.round),
    [100 + 10 * 6, 100 + 10 * 5],
    'a scan reads each record',
  );
  charged.length = 0;
  const paused = new ChargedStorage(new MemoryStorage(true), costs, 40, (ms) => charged.push(ms), {
    on: false,
  });
  paused.write(record('k1', 'abcd'));
  paused.sync();
  assert.deepEqual(charged, [], 'nothing is charged while charging is off');
});

test('a restarted replica opening its medium is busy for what the profile charges per record it holds', () => {
  const keys = 500;
  const openNs = 20_000;
  const cluster = new SimCluster({
    seed: 3,
    replicas: 3,
    clients: 2,
    medium: 'memory-durable',
    dataset: { keys, valueSizes: { bytes: [16], weights: [1] } },
    cpu: { profile: profile({ 'memory-durable': { ...FREE_MEDIUM, openNsPerRecord: openNs } }) },
  });
  const load = startSimLoad(cluster, 3, {
    keys: 20,
    writeRatio: 0.5,
    opsPerClient: 40,
    thinkMs: 0.5,
    randomReplica: true,
  });
  cluster.sim.runFor(5);
  cluster.crash(1, { reset: true });
  cluster.sim.runFor(20);
  const busyBefore = cluster.sim.cpuStats(1).busyMs;
  const restartMs = cluster.sim.now;
  let firstSendMs: number | undefined;
  const stop = cluster.sim.dropWhere((from) => {
    if (from === 1 && firstSendMs === undefined) firstSendMs = cluster.sim.now;
    return false;
  });
  cluster.restart(1);
  assert.ok(
    cluster.sim.runUntil(() => cluster.replica(1)?.full === true, 2000),
    'replica 1 serves again',
  );
  stop();
  // Less a float's rounding of 500 additions.
  const openMs = (keys * openNs) / 1e6 - 1e-9;
  assert.ok(cluster.sim.cpuStats(1).busyMs - busyBefore >= openMs, 'the open was charged');
  assert.ok(
    firstSendMs !== undefined && firstSendMs >= restartMs + openMs,
    `its first message left after its open (${firstSendMs})`,
  );
  assert.ok(
    cluster.sim.runUntil(() => load.running === 0, 20_000),
    'clients finish',
  );
  assertLinearizable(cluster);
  assertSettledAndEqual(cluster, 5000);
});
