import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { heal } from './run-heal.js';

test('heal bench protocol --json reports CPU and messages per operation, and a write costs 1 + 3(R-1) messages', async () => {
  const out = mkdtempSync(join(tmpdir(), 'heal-bench-protocol-test-'));
  try {
    const run = await heal(
      'bench',
      'protocol',
      '--quick',
      '--replicas',
      '3,5',
      '--read-ratios',
      '1,0',
      '--keys',
      '20000',
      '--ops',
      '3000',
      '--json',
      '--out',
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /heal bench protocol: 5 replicas: writing 20000 keys/,
      'progress goes to stderr',
    );
    const doc = JSON.parse(run.stdout) as {
      command: string;
      config: Record<string, unknown>;
      results: Record<string, number>[];
    };
    assert.equal(doc.command, 'bench protocol');
    assert.equal(doc.config['model'], 'synch');
    assert.deepEqual(
      doc.results.map((r) => [r['replicas'], r['readRatio'], r['keys'], r['ops']]),
      [
        [3, 1, 20000, 3000],
        [3, 0, 20000, 3000],
        [5, 1, 20000, 3000],
        [5, 0, 20000, 3000],
      ],
    );
    for (const row of doc.results) {
      const cpu = row['cpuUsPerOp'] as number;
      assert.ok(cpu > 0 && cpu < 100_000, `cpuUsPerOp ${cpu}`);
    }
    // Writes only: the put, then INV, ACK and VAL between the coordinator and each other member.
    // Off by a little: membership's heartbeats and lease renewals add some, and a write
    // superseded by a concurrent one of its key sends no VAL (with 20k keys, rare).
    for (const [i, replicas] of [
      [1, 3],
      [3, 5],
    ] as const) {
      const perWrite = doc.results[i]?.['messagesPerOp'] as number;
      const expected = 1 + 3 * (replicas - 1);
      assert.ok(
        Math.abs(perWrite - expected) < 0.1,
        `${replicas} replicas: ${perWrite} messages per write, expected ${expected}`,
      );
    }
    // Reads only: one get per replica and batch (the batch's reads spread over the replicas).
    assert.ok((doc.results[0]?.['messagesPerOp'] as number) < 0.1, 'reads are batched into gets');
    assert.deepEqual(
      (JSON.parse(readFileSync(join(out, 'protocol.json'), 'utf8')) as typeof doc).results,
      doc.results,
    );
    assert.match(
      readFileSync(join(out, 'protocol.md'), 'utf8'),
      /\| replicas \| reads \| keys \| value bytes \| ops \| CPU µs\/op \| messages\/op \|/,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('heal bench protocol rejects a bad flag by name', async () => {
  const ratio = await heal('bench', 'protocol', '--read-ratios', '0.5,1.5');
  assert.equal(ratio.code, 2);
  assert.match(ratio.stderr, /--read-ratios: each ratio must be in \[0, 1\], got 1\.5/);
  const batch = await heal('bench', 'protocol', '--batch', '0');
  assert.equal(batch.code, 2);
  assert.match(batch.stderr, /--batch must be an integer in \[1, 4096\], got 0/);
});
