import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WORKLOAD_NAMES } from '../src/workloads/index.js';
import { heal } from './run-heal.js';

test('heal sweep write-ratio --json runs every strategy at every point and writes JSON, Markdown and a chart', async () => {
  const out = mkdtempSync(join(tmpdir(), 'heal-sweep-'));
  try {
    const run = await heal(
      'sweep',
      'write-ratio',
      '--keys',
      '300',
      '--replicas',
      '3',
      '--outage-ms',
      '300',
      '--suspicion-ms',
      '200',
      '--warmup-ms',
      '50',
      '--steady-ms',
      '100',
      '--tail-ms',
      '50',
      '--medium',
      'volatile',
      '--no-check',
      '--out',
      out,
      '--json',
    );
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as {
      command: string;
      config: { costProfile: { name: string } };
      results: {
        x: string;
        strategy: string;
        recoveryMs: number;
        bytesMoved: number;
        degradation: number;
        failureMs: number | null;
      }[];
    };
    assert.equal(doc.command, 'sweep write-ratio');
    assert.equal(
      doc.results.length,
      WORKLOAD_NAMES.length * 3,
      'every workload x three strategies',
    );
    for (const r of doc.results) {
      assert.ok(
        r.recoveryMs > 0 &&
          r.bytesMoved >= 0 &&
          typeof r.degradation === 'number' &&
          r.failureMs !== null,
        JSON.stringify(r),
      );
    }
    assert.deepEqual([...new Set(doc.results.map((r) => r.x))], WORKLOAD_NAMES);
    assert.ok(doc.config.costProfile.name.length > 0, 'the report names its cost profile');
    assert.ok(
      readFileSync(join(out, 'sweep-write-ratio.svg'), 'utf8').startsWith('<svg'),
      'the chart',
    );
    assert.ok(existsSync(join(out, 'sweep-write-ratio.md')));
    assert.match(run.stderr, /results in /, 'the path is printed');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('heal sweep with an unknown or missing name exits 2 naming the sweeps', async () => {
  for (const args of [['sweep', 'nope'], ['sweep']]) {
    const run = await heal(...args);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /models\|outage\|dataset\|replicas\|write-ratio/);
  }
});

test(
  'heal sweep dataset --runtime threads runs the recovery experiment at every point',
  { timeout: 150_000 },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'heal-sweep-threads-'));
    try {
      const run = await heal(
        'sweep',
        'dataset',
        '--runtime',
        'threads',
        '--strategy',
        'heal',
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
        '--data-dir',
        out,
        '--out',
        out,
        '--json',
      );
      assert.equal(run.code, 0, run.stderr);
      const doc = JSON.parse(run.stdout) as {
        command: string;
        results: { x: number; strategy: string; recoveryMs: number; degradation: number | null }[];
      };
      assert.equal(doc.command, 'sweep dataset');
      assert.deepEqual(
        doc.results.map((r) => r.x),
        [200, 200, 600],
      );
      for (const r of doc.results)
        assert.ok(
          r.strategy === 'heal' && r.recoveryMs > 0 && typeof r.degradation === 'number',
          JSON.stringify(r),
        );
      assert.ok(existsSync(join(out, 'sweep-dataset.svg')));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);
