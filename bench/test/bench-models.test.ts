import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { heal } from './run-heal.js';

test('heal bench models --json prints one document with a row per model x medium and writes the report', async () => {
  const out = mkdtempSync(join(tmpdir(), 'heal-bench-models-test-'));
  try {
    const run = await heal(
      'bench',
      'models',
      '--quick',
      '--models',
      'synch,event',
      '--media',
      'volatile,pmem',
      '--repeat',
      '2',
      '--warmup-ms',
      '600',
      '--json',
      '--out',
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /heal bench models: 5\/6 synch on pmem \(latency model on\), 3 replicas, window 1\/2/,
      'progress goes to stderr',
    );
    const leads = [
      ...run.stderr.matchAll(/window (\d)\/2: (\d+) ms not counted, then 150 ms/g),
    ].map((m) => [Number(m[1]), Number(m[2])]);
    assert.deepEqual(
      leads,
      Array(6)
        .fill([
          [1, 600],
          [2, 500],
        ])
        .flat(),
      "each configuration's warm-up before its first window, the ramp before the second",
    );
    const doc = JSON.parse(run.stdout) as {
      command: string;
      config: Record<string, unknown>;
      results: Record<string, unknown>[];
    };
    assert.equal(doc.config['rampMs'], 500);
    assert.equal(doc.command, 'bench models');
    // volatile x 2 models, pmem x 2 models x latency model off and on.
    assert.equal(doc.results.length, 6);
    const fields = [
      'model',
      'medium',
      'replicas',
      'latencyModel',
      'writesPerSec',
      'p50Us',
      'p99Us',
    ];
    for (const row of doc.results) {
      for (const field of fields) assert.ok(field in row, field);
      assert.ok(['synch', 'event'].includes(row['model'] as string));
      assert.equal(row['replicas'], 3);
      assert.ok((row['writesPerSec'] as number) > 0, `writes completed in ${JSON.stringify(row)}`);
      assert.ok((row['p99Us'] as number) >= (row['p50Us'] as number));
    }
    assert.deepEqual(
      doc.results.filter((r) => r['medium'] === 'pmem').map((r) => r['latencyModel']),
      [false, false, true, true],
    );
    assert.deepEqual(
      (JSON.parse(readFileSync(join(out, 'models.json'), 'utf8')) as typeof doc).results,
      doc.results,
    );
    assert.match(readFileSync(join(out, 'models.md'), 'utf8'), /\| synch \| pmem \| on \| 3 \|/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('heal bench models rejects an unknown model or medium, naming the flag', async () => {
  const bad = await heal('bench', 'models', '--models', 'synch,lazy');
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /--models: each must be one of synch\|strict\|renf\|event\|scope, got lazy/,
  );
  const medium = await heal('bench', 'models', '--media', 'disk');
  assert.equal(medium.code, 2);
  assert.match(medium.stderr, /--media: each must be one of volatile\|wal\|pmem, got disk/);
});
