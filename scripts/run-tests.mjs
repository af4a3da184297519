#!/usr/bin/env node
// Runs every compiled test file (`*.test.js` under each workspace's dist/) with Node's test
// runner. Node 20's `--test` takes no globs, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

const roots = [
  'packages/base',
  'packages/actors',
  'packages/pmem',
  'packages/kv',
  'packages/heal',
  'bench',
  'test',
];

function collect(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = roots.flatMap((root) => collect(join(root, 'dist'), [])).sort();
if (files.length === 0) {
  console.error('run-tests: no compiled test files found under */dist; did `tsc -b` run?');
  process.exit(1);
}
// The suite takes a few minutes; a hang (a worker thread kept alive, say) must fail CI well
// before its limit instead of using all of it. The seeded suites take time in proportion to
// HEAL_SEEDS (200 by default), so the bound grows with it.
const seedScale = Math.max(1, Number(process.env['HEAL_SEEDS'] ?? 200) / 200) || 1;
const SUITE_TIMEOUT_MS = 25 * 60 * 1000 * seedScale;
const extra = process.argv.slice(2).filter((arg) => arg !== '--lint');
const withLint = process.argv.includes('--lint');

/** Runs `command` to its end; resolves with its exit status and its output, kept for later. */
function run(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, options);
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    child.on('error', (err) => resolve({ status: 1, output: `${output}${err.message}\n` }));
    child.on('close', (status, signal) => resolve({ status: status ?? 1, signal, output }));
  });
}

// The lint (`npm run lint`) runs beside the tests, not before them: the runner takes test files
// one at a time, so on a machine with two cores the lint takes the other one. Its output is
// printed after the tests', whole.
const lint = withLint
  ? run('npm', ['run', '--silent', 'lint'], { stdio: ['ignore', 'pipe', 'pipe'] })
  : undefined;
const tests = run(process.execPath, ['--test', ...extra, ...files], {
  stdio: 'inherit',
  timeout: SUITE_TIMEOUT_MS,
  killSignal: 'SIGKILL',
});
const testResult = await tests;
if (testResult.signal)
  console.error(
    `run-tests: tests ended by ${testResult.signal} (suite limit ${SUITE_TIMEOUT_MS / 60000} min)`,
  );
let status = testResult.status;
if (lint) {
  const lintResult = await lint;
  process.stdout.write(lintResult.output);
  console.log(
    lintResult.status === 0
      ? '# lint: ESLint and the Prettier check pass'
      : '# lint: FAILED (npm run lint)',
  );
  if (lintResult.status !== 0) status = status || lintResult.status;
}
process.exit(status);
