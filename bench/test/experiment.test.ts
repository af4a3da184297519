import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heal } from './run-heal.js';

/** A tiny experiment: 3 replicas, a small pmem dataset with the latency model off, short phases. */
const TINY = [
  '--replicas',
  '3',
  '--keys',
  '600',
  '--medium',
  'pmem',
  '--pmem-latency',
  'off',
  '--warmup-ms',
  '200',
  '--steady-ms',
  '300',
  '--suspicion-ms',
  '300',
  '--outage-ms',
  '900',
  '--tail-ms',
  '200',
];

interface Row {
  strategy: string;
  runtime: string;
  recoveryMs: number;
  phasesMs: Record<string, number>;
  degradation: number | null;
  missedKeys: number;
  missedWrites: number;
  missedBytes: number;
  bytesMoved: number;
  latencyVsHeal: number | null;
  recoveryBuckets: number;
  recoveryWindow: string;
  opsPerBucket: number[];
  bucketMs: number;
  marksMs: Record<string, number>;
}

test(
  'heal recover --runtime threads runs every strategy on one workload and writes the document, table and chart',
  { timeout: 150_000 },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'heal-experiment-test-'));
    try {
      const run = await heal(
        'recover',
        '--runtime',
        'threads',
        '--workload',
        'ycsb-a',
        ...TINY,
        '--data-dir',
        out,
        '--out',
        out,
        '--json',
      );
      assert.equal(run.code, 0, run.stderr);
      const doc = JSON.parse(run.stdout) as {
        command: string;
        machine: Record<string, unknown>;
        config: Record<string, unknown>;
        results: Row[];
      };
      assert.deepEqual(Object.keys(doc).sort(), ['command', 'config', 'machine', 'results']);
      assert.equal(doc.command, 'recover');
      for (const field of ['cpus', 'cpuModel', 'memGiB', 'node', 'os'])
        assert.ok(field in doc.machine, `machine.${field}`);
      for (const [field, value] of Object.entries({
        runtime: 'threads',
        workload: 'ycsb-a',
        replicas: 3,
        keys: 600,
        valueBytes: 100,
        medium: 'pmem',
        model: 'synch',
        outageMs: 900,
        suspicionMs: 300,
        seed: 1,
      })) {
        assert.equal(doc.config[field], value, `config.${field}`);
      }
      assert.deepEqual(
        doc.results.map((r) => r.strategy),
        ['heal', 'full-copy', 'leader-incremental'],
      );
      for (const r of doc.results) {
        const where = `${r.strategy}: ${JSON.stringify({ ...r, opsPerBucket: r.opsPerBucket.length })}`;
        assert.equal(r.runtime, 'threads');
        // It recovered: the run waits until the replica serves reads, and its report has phases from its restart.
        assert.ok(r.recoveryMs > 0, where);
        assert.ok('load' in r.phasesMs, where);
        const sum = Object.values(r.phasesMs).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - r.recoveryMs) < 0.01, `phases add up to recoveryMs: ${where}`);
        assert.ok(r.bytesMoved > 0, `recovery messages reached it: ${where}`);
        for (const f of ['missedKeys', 'missedWrites', 'missedBytes', 'recoveryBuckets'] as const) {
          assert.ok(Number.isInteger(r[f]) && r[f] >= 0, `${f}: ${where}`);
        }
        assert.ok(r.degradation === null || typeof r.degradation === 'number', where);
        assert.ok(['contained', 'overlapping'].includes(r.recoveryWindow), where);
        const m = r.marksMs;
        assert.ok(
          m['steadyFromMs']! < m['crashMs']! &&
            m['crashMs']! < m['restartMs']! &&
            m['restartMs']! <= m['servingReadsMs']! &&
            m['servingReadsMs']! <= m['stopMs']!,
          where,
        );
        assert.ok(r.opsPerBucket.length > 0 && r.bucketMs === 10, where);
        assert.equal(
          r.opsPerBucket.reduce((a, b) => a + b, 0) > 0,
          true,
          `operations completed: ${where}`,
        );
      }
      assert.equal(doc.results[0]?.latencyVsHeal, 1);
      for (const name of ['recover.json', 'recover.md', 'throughput.svg'])
        assert.ok(existsSync(join(out, name)), name);
      assert.ok(readFileSync(join(out, 'throughput.svg'), 'utf8').startsWith('<svg'));
      const md = readFileSync(join(out, 'recover.md'), 'utf8');
      assert.match(md, /\| strategy \| recovery ms \| phases ms \| degradation \|/);
      assert.match(md, /\| HEAL \| 120 ms \| 8\.7% \|/);
      assert.match(md, /## Goals/);
      assert.match(
        run.stderr,
        /heal recover: results in .*recover\.json, recover\.md, throughput\.svg/,
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

test('heal recover names a flag that does not fit the runtime or the workload, or a bad model', async () => {
  const runs = await Promise.all([
    heal('recover', '--runtime', 'threads', '--link', 'loopback'),
    heal('recover', '--runtime', 'sim', '--pmem-latency', 'on'),
    heal('recover', '--runtime', 'threads', '--workload', 'ycsb-z'),
    heal('recover', '--runtime', 'threads', '--keys', '10'),
    heal('recover', '--runtime', 'sim', '--link', 'wifi'),
    heal('recover', '--runtime', 'sim', '--cores', '0'),
    heal('recover', '--runtime', 'sim', '--cost-profile', '/nonexistent/profile.json'),
    heal('recover', '--runtime', 'sim', '--replicas', '65'),
  ]);
  for (const r of runs) {
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
  }
  assert.match(runs[0]!.stderr, /--link does not apply to --runtime threads/);
  assert.match(runs[1]!.stderr, /--pmem-latency does not apply to --runtime sim/);
  assert.match(runs[2]!.stderr, /--workload: unknown value "ycsb-z"/);
  assert.match(
    runs[3]!.stderr,
    /--keys: keys must be an integer in \[150, \d+\] for taobench, got 10/,
  );
  assert.match(runs[4]!.stderr, /--link: unknown value "wifi"/);
  assert.match(runs[5]!.stderr, /--cores must be an integer in \[1, 1024\], got 0/);
  assert.match(
    runs[6]!.stderr,
    /--cost-profile: cost profile \/nonexistent\/profile\.json: cannot read it/,
  );
  assert.match(runs[7]!.stderr, /--replicas must be an integer in \[3, 64\], got 65/);
});

test(
  'heal recover --runtime threads --target-rate runs open-loop clients on a schedule',
  { timeout: 150_000 },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'heal-experiment-open-'));
    try {
      const run = await heal(
        'recover',
        '--runtime',
        'threads',
        '--strategy',
        'heal',
        '--workload',
        'ycsb-b',
        ...TINY,
        '--target-rate',
        '2000',
        '--data-dir',
        out,
        '--out',
        out,
        '--json',
      );
      assert.equal(run.code, 0, run.stderr);
      const doc = JSON.parse(run.stdout) as {
        config: { targetOpsPerSec: number };
        results: (Row & { operations: number; shed: number })[];
      };
      assert.equal(doc.config.targetOpsPerSec, 2000);
      const [row] = doc.results;
      assert.ok(row && row.strategy === 'heal' && row.recoveryMs > 0, JSON.stringify(row));
      assert.ok(
        row.operations > 0 && row.shed >= 0,
        `${row.operations} operations, ${row.shed} shed`,
      );
      assert.match(readFileSync(join(out, 'recover.md'), 'utf8'), /open-loop clients/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);
