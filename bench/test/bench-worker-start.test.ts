import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { heal } from './run-heal.js';

test('heal bench worker-start --json reports, per medium and mode, the worker start of each restart and its split', async () => {
  const out = mkdtempSync(join(tmpdir(), 'heal-bench-worker-start-test-'));
  try {
    const run = await heal(
      'bench',
      'worker-start',
      '--quick',
      '--media',
      'volatile,wal,pmem',
      '--modes',
      'spare',
      '--json',
      '--out',
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /heal bench worker-start: pmem, 200 keys, spare: restart 2\/2: [\d.]+ ms/,
      'progress goes to stderr',
    );
    const doc = JSON.parse(run.stdout) as {
      command: string;
      machine: Record<string, unknown>;
      config: Record<string, unknown>;
      results: Record<string, unknown>[];
    };
    assert.equal(doc.command, 'bench worker-start');
    assert.equal(doc.machine['cpus'], availableParallelism());
    assert.deepEqual(doc.config['media'], ['volatile', 'wal', 'pmem']);
    assert.deepEqual(doc.config['keys'], [200]);
    assert.deepEqual(
      doc.results.map((r) => [r['medium'], r['keys'], r['mode'], r['restarts']]),
      [
        ['volatile', 200, 'spare', 2],
        ['wal', 200, 'spare', 2],
        ['pmem', 200, 'spare', 2],
      ],
    );
    for (const row of doc.results) {
      const where = JSON.stringify(row);
      const starts = row['workerStartsMs'] as number[];
      assert.equal(starts.length, 2, where);
      assert.equal(
        row['workerStartMs'],
        Math.min(...starts),
        `the median of two is the lower one (nearest rank): ${where}`,
      );
      assert.equal(row['workerStartP90Ms'], Math.max(...starts), where);
      for (const field of [
        'bootMs',
        'importMs',
        'assignMs',
        'mediumOpenMs',
        'replicaStartMs',
        'loadMs',
      ]) {
        const ms = row[field] as number;
        assert.ok(Number.isFinite(ms) && ms >= 0, `${field} ${ms}: ${where}`);
      }
      assert.ok((row['workerStartMs'] as number) > 0, where);
      // Only wal splits its open into its checkpoint and its log tail.
      for (const field of ['snapshotMs', 'logTailMs']) {
        if (row['medium'] === 'wal')
          assert.ok(
            Number.isFinite(row[field]) && (row[field] as number) >= 0,
            `${field}: ${where}`,
          );
        else assert.equal(row[field], undefined, `${field}: ${where}`);
      }
      assert.ok(
        (row['restartCallMs'] as number) >= (row['workerStartMs'] as number) - 1,
        `restart() ends after the start: ${where}`,
      );
    }
    assert.deepEqual(
      (JSON.parse(readFileSync(join(out, 'worker-start.json'), 'utf8')) as typeof doc).results,
      doc.results,
    );
    const md = readFileSync(join(out, 'worker-start.md'), 'utf8');
    assert.match(
      md,
      /^Machine: \d+ CPUs \(.+\), [\d.]+ GiB, Node v\d+/m,
      'the report states the machine',
    );
    assert.match(
      md,
      /\| medium \| keys \| mode \| restarts \| worker start ms \| p90 ms \| boot \| imports \| assign \| medium open \| snapshot \| log tail \| replica start \| load \| restart\(\) \|/,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('heal bench worker-start rejects a bad flag by name', async () => {
  const media = await heal('bench', 'worker-start', '--media', 'volatile,disk');
  assert.equal(media.code, 2);
  assert.match(media.stderr, /--media: unknown value "disk" \(expected volatile\|wal\|pmem\)/);
  const replicas = await heal('bench', 'worker-start', '--replicas', '2');
  assert.equal(replicas.code, 2);
  assert.match(replicas.stderr, /--replicas must be an integer in \[3, 12\], got 2/);
  const modes = await heal('bench', 'worker-start', '--modes', 'warm');
  assert.equal(modes.code, 2);
  assert.match(modes.stderr, /--modes: unknown value "warm" \(expected spare\|cold\)/);
});
