import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  kvReplicaModule,
  LoopbackCluster,
  replicaConfigOf,
  REPLICA_MEDIA,
  THREAD_TIMING,
  warmUpReplica,
  type KvWire,
} from '../src/index.js';

test('a warm-up runs a crash and a recovery on every medium and leaves no file behind', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'heal-warm-up-test-'));
  // The warm-ups' scratch directories go to a temp directory of this test's own (os.tmpdir()
  // reads TMPDIR), where another test file's warm-up running meanwhile cannot show up.
  const scratchParent = mkdtempSync(join(tmpdir(), 'heal-warm-up-scratch-'));
  const tmpBefore = process.env['TMPDIR'];
  process.env['TMPDIR'] = scratchParent;
  const scratchDirs = (): string[] => readdirSync(scratchParent);
  try {
    assert.equal(tmpdir(), scratchParent);
    for (const medium of REPLICA_MEDIA) {
      const config = replicaConfigOf(6, THREAD_TIMING, {
        medium,
        model: 'synch',
        dataDir,
        pmemCapacity: 1_000_000,
        dataset: { keys: 100_000, valueSizes: { bytes: [64], weights: [1] } },
      });
      const report = warmUpReplica(kvReplicaModule, config, Infinity);
      assert.equal(report.recovered, true, `${medium}: ${JSON.stringify(report)}`);
      assert.ok(report.handled > 500, `${medium}: ${JSON.stringify(report)}`);
      // Every key written while it was down, three times over, so the recovery path runs often
      // enough to be optimized.
      assert.ok(report.recoveredEntries >= 600, `${medium}: ${JSON.stringify(report)}`);
      assert.equal(report.interrupted, false);
    }
    // Its worker's actor arrived: it stops at once, and cleans up all the same.
    const config = replicaConfigOf(6, THREAD_TIMING, { medium: 'pmem', model: 'synch', dataDir });
    const cut = warmUpReplica(kvReplicaModule, config, Infinity, () => true);
    assert.equal(cut.interrupted, true, JSON.stringify(cut));
    assert.equal(cut.recoveredEntries, 0, JSON.stringify(cut));
    assert.deepEqual(scratchDirs(), []);
    assert.deepEqual(readdirSync(dataDir), [], "the replica's own directory is not touched");
  } finally {
    if (tmpBefore === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = tmpBefore;
    rmSync(scratchParent, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a loopback replica that crashes is told to its peers, and recovers on its medium', () => {
  const config = replicaConfigOf(3, THREAD_TIMING, { model: 'synch', medium: 'memory-durable' });
  const cluster = new LoopbackCluster(kvReplicaModule, config, 7);
  cluster.advance(500);
  assert.ok(cluster.serving(), 'the cluster formed its view');
  const put = (to: number, reqId: number): void =>
    cluster.send(to, {
      kind: 'put',
      epoch: 0,
      sender: cluster.client,
      reqId,
      key: 'k',
      value: 'v',
    } as KvWire);
  put(0, 1);
  cluster.deliverAll();
  assert.equal(cluster.answered, 1);
  cluster.crash(2);
  assert.equal(cluster.isUp(2), false);
  assert.throws(() => cluster.crash(2), /replica 2 is down/);
  put(0, 2);
  cluster.advance(50);
  assert.equal(cluster.answered, 2, 'the survivors removed it and serve writes');
  cluster.restart(2);
  cluster.advance(1_000);
  assert.ok(cluster.serving(), 'the restarted replica recovered and serves');
  cluster.close();
});
