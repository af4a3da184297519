#!/usr/bin/env node
// Runs every compiled test file (`*.test.js` under each workspace's dist/) with Node's test
// runner. Node 20's `--test` takes no globs, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = ['packages/base', 'packages/actors', 'packages/pmem', 'packages/kv', 'packages/heal', 'bench', 'test'];

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
// before its limit instead of using all of it.
const SUITE_TIMEOUT_MS = 25 * 60 * 1000;
const extra = process.argv.slice(2);
const result = spawnSync(process.execPath, ['--test', ...extra, ...files], {
  stdio: 'inherit',
  timeout: SUITE_TIMEOUT_MS,
  killSignal: 'SIGKILL',
});
if (result.error) console.error(`run-tests: ${result.error.message} (suite limit ${SUITE_TIMEOUT_MS / 60000} min)`);
process.exit(result.status ?? 1);
