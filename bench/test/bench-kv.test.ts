import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { heal } from './run-heal.js';
import { loadClientsFor } from '../src/kv/load-config.js';
import { sessionReplica } from '../src/kv/kv-load-task.js';
import { replicaShare } from '../src/commands/bench-kv.js';

/** Real threads on a shared machine: a hang must fail the test, not stall the suite. */
const THREAD_TEST_TIMEOUT_MS = 60_000;

test(
  "heal bench kv --json prints one document with the issue's row fields and writes the report",
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'heal-bench-kv-test-'));
    try {
      const run = await heal(
        'bench',
        'kv',
        '--quick',
        '--replicas',
        '3',
        '--read-ratios',
        '0.95',
        '--keys',
        '500',
        '--runs',
        '3',
        '--warmup-ms',
        '700',
        '--json',
        '--out',
        out,
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stderr,
        /heal bench kv: 3 replicas: writing 500 keys/,
        'progress goes to stderr',
      );
      const leads = [...run.stderr.matchAll(/run (\d)\/3: (\d+) ms not counted, then 300 ms/g)].map(
        (m) => [Number(m[1]), Number(m[2])],
      );
      assert.deepEqual(
        leads,
        [
          [1, 700],
          [2, 500],
          [3, 500],
        ],
        "the warm-up before a row's first window, the ramp before the others",
      );
      const doc = JSON.parse(run.stdout) as {
        command: string;
        config: Record<string, unknown>;
        results: Record<string, unknown>[];
      };
      assert.equal(doc.config['warmupMs'], 700);
      assert.equal(doc.config['rampMs'], 500);
      assert.equal(
        doc.config['clients'],
        loadClientsFor(3, availableParallelism()),
        'by default, the cores 3 replicas leave free',
      );
      assert.equal(doc.config['window'], 512);
      assert.equal(doc.command, 'bench kv');
      assert.equal(doc.results.length, 1);
      const row = doc.results[0] ?? {};
      for (const field of ['replicas', 'readRatio', 'keys', 'opsPerSec', 'p50Us', 'p99Us'])
        assert.ok(field in row, field);
      assert.equal(row['replicas'], 3);
      assert.equal(row['readRatio'], 0.95);
      assert.equal(row['keys'], 500);
      assert.ok((row['opsPerSec'] as number) > 0, 'operations completed');
      assert.ok((row['p99Us'] as number) >= (row['p50Us'] as number));
      assert.equal(row['runs'], 3);
      const byReplica = row['opsByReplica'] as number[];
      assert.equal(byReplica.length, 3);
      assert.ok(
        byReplica.every((ops) => ops > 0),
        `every replica served its sessions: ${byReplica.join(',')}`,
      );
      const counted = byReplica.reduce((a, b) => a + b, 0);
      assert.ok(
        Math.abs(counted / 0.3 - (row['opsPerSec'] as number)) <= 4,
        `${counted} operations in 300 ms against ${row['opsPerSec'] as number} ops/s`,
      );
      const windows = [...run.stderr.matchAll(/3 replicas, 95% reads, run \d\/3: (\d+) ops\/s/g)]
        .map((m) => Number(m[1]))
        .sort((a, b) => a - b);
      assert.equal(windows.length, 3, 'one progress line per measured window');
      assert.deepEqual(
        [row['opsPerSecMin'], row['opsPerSec'], row['opsPerSecMax']],
        windows,
        'the row is the median window, with the extremes',
      );
      // Threads do real work for every operation: some CPU per operation, and not absurdly much.
      const cpu = row['cpuUsPerOp'] as number;
      assert.ok(cpu > 0 && cpu < 100_000, `cpuUsPerOp ${cpu}`);
      assert.deepEqual(
        (JSON.parse(readFileSync(join(out, 'kv.json'), 'utf8')) as typeof doc).results,
        doc.results,
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

test(
  'heal bench kv rejects a bad flag value, naming it',
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const run = await heal('bench', 'kv', '--read-ratios', '1.5');
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--read-ratios: each ratio must be in \[0, 1\], got 1.5/);
    const runs = await heal('bench', 'kv', '--runs', '0');
    assert.equal(runs.code, 2);
    assert.match(runs.stderr, /--runs/);
  },
);

test('bench kv runs one load generator per core the replicas leave free, at least one and at most 16', () => {
  assert.equal(loadClientsFor(6, 2), 1);
  assert.equal(loadClientsFor(3, 2), 1);
  assert.equal(loadClientsFor(3, 4), 1);
  assert.equal(loadClientsFor(6, 8), 2);
  assert.equal(loadClientsFor(3, 64), 16);
});

test('bench kv binds its sessions to the replicas in turn, across generators, so each replica serves as many (within one)', () => {
  for (const [clients, window, replicas] of [
    [1, 512, 6],
    [2, 64, 3],
    [3, 7, 5],
    [1, 2, 6],
  ] as const) {
    const served = new Array<number>(replicas).fill(0);
    let previous = -1;
    for (let client = 0; client < clients; client++) {
      for (let slot = 0; slot < window; slot++) {
        const replica = sessionReplica(client, window, slot, replicas);
        assert.ok(
          Number.isInteger(replica) && replica >= 0 && replica < replicas,
          `session ${client}/${slot}: replica ${replica}`,
        );
        assert.notEqual(replica, previous, 'consecutive sessions go to different replicas');
        served[replica]++;
        previous = replica;
      }
    }
    assert.ok(
      Math.max(...served) - Math.min(...served) <= 1,
      `${clients} x ${window} sessions over ${replicas} replicas: ${served.join(',')}`,
    );
  }
});

test('bench kv reports the smallest and largest share of the operations one replica served', () => {
  assert.equal(replicaShare([100, 100, 200]), '25.0-50.0%');
  assert.equal(replicaShare([1, 1, 1]), '33.3-33.3%');
  assert.equal(replicaShare([0, 0]), '-');
});
