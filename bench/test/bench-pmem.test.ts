import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heal } from './run-heal.js';
import { test } from 'node:test';

type Row = Record<string, unknown>;

test('heal bench pmem --quick --json prints one document with every row shape, and writes the report', async () => {
  const out = mkdtempSync(join(tmpdir(), 'heal-bench-pmem-test-'));
  try {
    const run = await heal('bench', 'pmem', '--quick', '--json', '--out', out);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /heal bench pmem: persist 64 B emulated/, 'progress goes to stderr');
    const doc = JSON.parse(run.stdout) as {
      command: string;
      machine: Row;
      config: Row;
      results: Row[];
    };
    assert.deepEqual(Object.keys(doc).sort(), ['command', 'config', 'machine', 'results']);
    assert.equal(doc.command, 'bench pmem');
    assert.equal(doc.config['quick'], true);
    const persist = doc.results.filter((r) => r['op'] === 'persist');
    assert.equal(persist.length, 3 * 3, 'three sizes x (emulated, emulated + model, msync)');
    for (const r of persist) {
      assert.ok([64, 256, 4096].includes(r['bytes'] as number));
      assert.ok(r['durability'] === 'emulated' || r['durability'] === 'msync');
      assert.equal(typeof r['latencyModel'], 'boolean');
      assert.ok((r['nsPerOp'] as number) > 0);
    }
    assert.ok(
      persist.some(
        (r) => r['bytes'] === 64 && r['durability'] === 'msync' && r['latencyModel'] === false,
      ),
    );
    for (const op of ['ptable-put', 'ptable-get', 'plog-append']) {
      const r = doc.results.find((row) => row['op'] === op && row['latencyModel'] === false);
      assert.ok(r !== undefined, op);
      assert.equal(r['valueBytes'], 64);
      assert.ok((r['opsPerSec'] as number) > 0);
    }
    const wal = doc.results.find((r) => r['op'] === 'fdatasync-append' && r['bytes'] === 64);
    assert.ok(wal !== undefined && (wal['nsPerOp'] as number) > 0);
    assert.deepEqual(
      (JSON.parse(readFileSync(join(out, 'pmem.json'), 'utf8')) as typeof doc).results,
      doc.results,
    );
    assert.match(readFileSync(join(out, 'pmem.md'), 'utf8'), /\| fdatasync-append \| 64 \|/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('heal bench pmem rejects an unknown option with a usage error', async () => {
  const run = await heal('bench', 'pmem', '--bogus');
  assert.equal(run.code, 2);
  assert.match(run.stderr, /bogus/);
  assert.equal(run.stdout, '');
});
