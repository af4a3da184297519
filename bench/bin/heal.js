#!/usr/bin/env node
// The `heal` command: a thin shim so the bin exists before the TypeScript build has run.
import { spawnSync } from 'node:child_process';
import { availableParallelism, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';

const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''];
const extra = [];
// Million-key recovery runs hold several replicas' stores in one process: let the heap use
// three quarters of the machine's memory (Node's default limit is far lower).
const wantMiB = Math.floor((totalmem() * 0.75) / 2 ** 20);
const haveMiB = getHeapStatistics().heap_size_limit / 2 ** 20;
if (!flags.some((a) => a.includes('max-old-space-size')) && haveMiB < wantMiB * 0.9)
  extra.push(`--max-old-space-size=${wantMiB}`);
// A thread cluster runs more busy threads than a small machine has cores, and V8's GC helper
// threads (parallel scavenges, concurrent marking; shared by every isolate of the process)
// take cores from them: on 2 cores, bench kv with 6 replicas and reads only spent 9.9 us of
// CPU per operation with them and 7.7 without (but 95% reads 19.0 with, 21.3 without; see the
// README). HEAL_GC=parallel keeps them. Reports say which.
const SMALL_MACHINE_CPUS = 4;
const gc =
  process.env.HEAL_GC ??
  (availableParallelism() <= SMALL_MACHINE_CPUS ? 'single-threaded' : 'parallel');
if (gc !== 'parallel' && gc !== 'single-threaded') {
  process.stderr.write(
    `heal: HEAL_GC must be parallel or single-threaded, got ${JSON.stringify(gc)}\n`,
  );
  process.exit(2);
}
if (gc === 'single-threaded' && !flags.some((a) => a.includes('single-threaded-gc')))
  extra.push('--single-threaded-gc');
if (extra.length > 0) {
  const child = spawnSync(
    process.execPath,
    [...extra, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(child.status ?? 1);
}
const { main } = await import('../dist/src/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
