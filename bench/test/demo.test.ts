import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heal } from './run-heal.js';

test(
  "heal demo --json prints one document whose rows carry the demo's fields, and writes its files",
  { timeout: 150_000 },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'heal-demo-test-'));
    try {
      // The demo's own scenario, made tiny: one strategy, 3 replicas, a small dataset, short phases.
      const run = await heal(
        'demo',
        '--strategy',
        'heal',
        '--replicas',
        '3',
        '--keys',
        '300',
        '--pmem-latency',
        'off',
        '--warmup-ms',
        '100',
        '--steady-ms',
        '200',
        '--suspicion-ms',
        '300',
        '--outage-ms',
        '800',
        '--tail-ms',
        '100',
        '--data-dir',
        out,
        '--out',
        out,
        '--json',
      );
      assert.equal(run.code, 0, run.stderr);
      const doc = JSON.parse(run.stdout) as {
        command: string;
        config: Record<string, unknown>;
        results: Record<string, unknown>[];
      };
      assert.equal(doc.command, 'demo');
      for (const [field, value] of Object.entries({
        workload: 'taobench',
        medium: 'pmem',
        model: 'synch',
        valueBytes: 150,
      })) {
        assert.equal(doc.config[field], value, `config.${field}`);
      }
      assert.equal(doc.results.length, 1);
      const row = doc.results[0] as Record<string, unknown>;
      for (const field of [
        'strategy',
        'recoveryMs',
        'phasesMs',
        'degradation',
        'missedKeys',
        'bytesMoved',
      ])
        assert.ok(field in row, field);
      assert.equal(row['strategy'], 'heal');
      assert.equal(typeof row['phasesMs'], 'object');
      for (const name of ['demo.json', 'demo.md', 'throughput.svg'])
        assert.ok(existsSync(join(out, name)), name);
      assert.match(run.stderr, /heal demo: results in /);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

test('heal demo rejects bad flags and heal rejects unknown commands, with status 2', async () => {
  const [few, bogus, medium, nosuch] = await Promise.all([
    heal('demo', '--replicas', '2'),
    heal('demo', '--bogus'),
    heal('demo', '--medium', 'tape'),
    heal('nosuch'),
  ]);
  assert.equal(few.code, 2);
  assert.match(few.stderr, /--replicas must be an integer in \[3, 12\], got 2/);
  assert.equal(few.stdout, '');
  assert.equal(bogus.code, 2);
  assert.match(bogus.stderr, /--bogus/);
  assert.equal(medium.code, 2);
  assert.match(medium.stderr, /--medium: unknown value "tape" \(expected volatile\|wal\|pmem\)/);
  assert.equal(nosuch.code, 2);
  assert.match(nosuch.stderr, /unknown command 'nosuch'/);
});
