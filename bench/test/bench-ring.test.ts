import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { heal, healWithEnv } from './run-heal.js';
import { test } from 'node:test';

type Row = Record<string, unknown>;

test(
  'heal bench ring --quick --json prints one row per transport, size and direction, and writes the report',
  { timeout: 120_000 },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'heal-bench-ring-test-'));
    try {
      const run = await heal('bench', 'ring', '--quick', '--json', '--out', out);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stderr,
        /bench ring: ring one-way 32 B: [\d,]+ msgs\/s/,
        'progress goes to stderr',
      );
      const doc = JSON.parse(run.stdout) as {
        command: string;
        machine: Row;
        config: Row;
        results: Row[];
      };
      assert.deepEqual(Object.keys(doc).sort(), ['command', 'config', 'machine', 'results']);
      assert.equal(doc.command, 'bench ring');
      assert.deepEqual(Object.keys(doc.machine).sort(), [
        'cpuModel',
        'cpus',
        'gc',
        'memGiB',
        'node',
        'os',
      ]);
      const smallMachine = (doc.machine['cpus'] as number) <= 4;
      assert.equal(
        doc.machine['gc'],
        smallMachine ? 'single-threaded' : 'parallel',
        'bin/heal.js picks the GC by core count',
      );
      assert.equal(doc.config['quick'], true);
      assert.equal(doc.results.length, 3 * 3 * 2, 'transports x sizes x directions');
      const cases = new Set<string>();
      for (const r of doc.results) {
        assert.deepEqual(Object.keys(r).sort(), [
          'batchMsgs',
          'bytes',
          'direction',
          'msgsPerSec',
          'rmePct',
          'samples',
          'transport',
        ]);
        assert.ok(
          ['ring', 'postMessage', 'comlink'].includes(r['transport'] as string),
          String(r['transport']),
        );
        assert.ok([32, 256, 4096].includes(r['bytes'] as number), String(r['bytes']));
        assert.ok(
          ['one-way', 'round-trip'].includes(r['direction'] as string),
          String(r['direction']),
        );
        assert.ok(
          typeof r['msgsPerSec'] === 'number' && r['msgsPerSec'] > 0,
          `msgsPerSec of ${JSON.stringify(r)}`,
        );
        cases.add(`${String(r['transport'])} ${String(r['bytes'])} ${String(r['direction'])}`);
      }
      assert.equal(cases.size, 18, 'no case twice');
      assert.deepEqual(JSON.parse(readFileSync(join(out, 'ring.json'), 'utf8')), doc);
      const md = readFileSync(join(out, 'ring.md'), 'utf8');
      assert.match(
        md,
        /\| direction \| bytes \| ring msgs\/s \| postMessage msgs\/s \| comlink msgs\/s \| ring \/ postMessage \|/,
      );
      assert.match(md, /Machine: \d+ CPUs/);
      assert.match(md, /## How it is measured/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

test(
  'HEAL_GC overrides the GC bin/heal.js picks, the report says so, and a bad value is refused by name',
  { timeout: 120_000 },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'heal-gc-test-'));
    try {
      // The choice the core count would not make (the test above sees the one it makes).
      for (const gc of [availableParallelism() <= 4 ? 'parallel' : 'single-threaded']) {
        const run = await healWithEnv(
          { HEAL_GC: gc },
          'bench',
          'ring',
          '--quick',
          '--json',
          '--out',
          out,
        );
        assert.equal(run.code, 0, run.stderr);
        assert.equal((JSON.parse(run.stdout) as { machine: Row }).machine['gc'], gc);
        assert.match(readFileSync(join(out, 'ring.md'), 'utf8'), new RegExp(`, ${gc} GC`));
      }
      const bad = await healWithEnv({ HEAL_GC: 'fast' }, 'bench', 'ring', '--quick');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /HEAL_GC must be parallel or single-threaded, got "fast"/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);
