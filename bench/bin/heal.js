#!/usr/bin/env node
// The `heal` command: a thin shim so the bin exists before the TypeScript build has run.
import { spawnSync } from 'node:child_process';
import { totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';

// Million-key recovery runs hold several replicas' stores in one process: let the heap use
// three quarters of the machine's memory (Node's default limit is far lower).
const wantMiB = Math.floor((totalmem() * 0.75) / 2 ** 20);
const haveMiB = getHeapStatistics().heap_size_limit / 2 ** 20;
const pinned = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('max-old-space-size'));
if (!pinned && haveMiB < wantMiB * 0.9) {
  const child = spawnSync(process.execPath, [`--max-old-space-size=${wantMiB}`, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}
const { main } = await import('../dist/src/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
