#!/usr/bin/env node
// Runs every compiled test file (`*.test.js` under each workspace's dist/) with Node's test
// runner. Node 20's `--test` takes no globs, so the files are listed here.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

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

/**
 * What a test file, or a helper of its test directory, names when it starts threads or
 * processes. A file that starts them without naming any of these fails in
 * single-thread-guard.mjs.
 */
const STARTS_THREADS =
  /worker_threads|child_process|\b(ThreadCluster|ThreadRuntime)\b|@heal\/[a-z]+\/threads|run-heal/;

/**
 * Whether `file` or a helper it imports from its own test directory (relative imports, followed
 * through) starts worker threads or processes. Those files run one at a time on a machine with
 * nothing else on it: their threads are scheduled by the kernel, and a second file beside them
 * would change what they measure and how long they take. The others (the simulator's seeded
 * suites and unit tests: one thread, virtual time, deterministic) run side by side.
 */
function startsThreads(file) {
  const testDir = resolve(file.slice(0, file.indexOf(`${sep}dist${sep}`) + 5));
  const seen = new Set();
  const visit = (path) => {
    if (seen.has(path)) return false;
    seen.add(path);
    let text;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return false;
    }
    if (STARTS_THREADS.test(text)) return true;
    for (const [, spec] of text.matchAll(/\bfrom\s+['"](\.{1,2}\/[^'"]+\.js)['"]/g)) {
      const target = resolve(dirname(path), spec);
      // Only helpers of the tests, not the package sources they test.
      if (target.startsWith(testDir) && !target.includes(`${sep}src${sep}`) && visit(target))
        return true;
    }
    return false;
  };
  return visit(resolve(file));
}

const threaded = files.filter(startsThreads);
const sideBySide = files.filter((f) => !threaded.includes(f));
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

// The lint (`npm run lint`) runs beside the single-threaded tests, not before them. Its output
// is printed after the tests', whole.
const lint = withLint
  ? run('npm', ['run', '--silent', 'lint'], { stdio: ['ignore', 'pipe', 'pipe'] })
  : undefined;
const deadline = Date.now() + SUITE_TIMEOUT_MS;
/** One `node --test` over `group`, `concurrency` files at a time, within the suite's limit. */
async function runGroup(group, concurrency, what, preload = []) {
  console.log(`# run-tests: ${group.length} test files ${what}`);
  if (group.length === 0) return 0;
  const result = await run(
    process.execPath,
    [...preload, '--test', `--test-concurrency=${concurrency}`, ...extra, ...group],
    { stdio: 'inherit', timeout: Math.max(1, deadline - Date.now()), killSignal: 'SIGKILL' },
  );
  if (result.signal)
    console.error(
      `run-tests: tests ended by ${result.signal} (suite limit ${SUITE_TIMEOUT_MS / 60000} min)`,
    );
  return result.status;
}
// The single-threaded files first, a core each (beside the lint); then the files that start
// threads or processes, one at a time, once the lint is done too.
const cores = availableParallelism();
const guard = fileURLToPath(new URL('single-thread-guard.mjs', import.meta.url));
let status = await runGroup(sideBySide, cores, `in one thread each, ${cores} at a time`, [
  '--import',
  pathToFileURL(guard).href,
]);
if (lint) await lint;
status = (await runGroup(threaded, 1, 'that start threads or processes, one at a time')) || status;
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
