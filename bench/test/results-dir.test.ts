import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BENCH_RESULTS_DIR, resultsDir } from '../src/report/results-dir.js';
import { heal, healIn, ROOT } from './run-heal.js';

const SMALL_CHECK = ['bench', 'check', '--operations', '300', '--repeats', '1'];

test('a measuring command writes to ./heal-results/<timestamp>/ by default, not to bench/results', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'heal-results-default-'));
  const committed = join(ROOT, 'bench/results/check.json');
  const before = statSync(committed).mtimeMs;
  try {
    const run = await healIn(cwd, ...SMALL_CHECK);
    assert.equal(run.code, 0, run.stderr);
    const runs = readdirSync(join(cwd, 'heal-results'));
    assert.equal(runs.length, 1, 'one folder per run');
    assert.match(runs[0] as string, /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/, 'named by its time');
    const dir = join(cwd, 'heal-results', runs[0] as string);
    assert.equal(
      (JSON.parse(readFileSync(join(dir, 'check.json'), 'utf8')) as { command: string }).command,
      'bench check',
    );
    assert.ok(existsSync(join(dir, 'check.md')));
    assert.ok(run.stderr.includes(join(dir, 'check.json')), 'the path is printed');
    assert.equal(statSync(committed).mtimeMs, before, 'the committed results are untouched');
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('--publish names bench/results (or the folder the command gives), --out the folder given', () => {
  const out = mkdtempSync(join(tmpdir(), 'heal-results-out-'));
  try {
    assert.equal(resultsDir({ publish: true }, BENCH_RESULTS_DIR), BENCH_RESULTS_DIR);
    assert.equal(resultsDir({ out }, BENCH_RESULTS_DIR), out);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('--publish with --out is refused before anything runs', async () => {
  const run = await heal(...SMALL_CHECK, '--publish', '--out', tmpdir());
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--publish and --out cannot be given together/);
  assert.doesNotMatch(run.stderr, /simulating/, 'nothing ran');
});
