import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** Real threads on a shared machine: a hang must fail the test, not stall the suite. */
const DRIVER_TIMEOUT_MS = 120_000;
const PRELOAD = fileURLToPath(new URL('./fixtures/load-log-preload.js', import.meta.url));
const DRIVER = fileURLToPath(new URL('./fixtures/replica-worker-driver.js', import.meta.url));

/**
 * What a replica worker must never load: the code it does not run (ARCHITECTURE.md §1: a worker
 * imports the actor module and the worker script, nothing of the driver's side).
 */
const FORBIDDEN: readonly { what: string; pattern: RegExp }[] = [
  {
    what: 'the simulator',
    pattern:
      /packages\/actors\/dist\/src\/sim(\/|\.js)|packages\/kv\/dist\/src\/(sim\.js|cluster\/sim-)/,
  },
  { what: 'the linearizability checker', pattern: /packages\/kv\/dist\/src\/checker(\/|\.js)/ },
  {
    what: "the thread runtime's driver side",
    pattern:
      /packages\/actors\/dist\/src\/(threads\.js|threads\/(runtime|control-parent|load-generators)\.js)/,
  },
  {
    what: 'a cluster or the client',
    pattern: /packages\/kv\/dist\/src\/(threads\.js|client\.js|cluster\/|client\/)/,
  },
  {
    what: "a package's whole entry point",
    pattern: /packages\/(actors|kv|heal)\/dist\/src\/index\.js/,
  },
  { what: 'piscina', pattern: /node_modules\/piscina\// },
  { what: "mnemonist (the simulator's)", pattern: /mnemonist/ },
  { what: "comlink's UMD build (the CommonJS loader)", pattern: /comlink\/dist\/umd/ },
  { what: 'test code', pattern: /\/dist\/test\// },
  { what: 'bench code', pattern: /\/bench\/(dist|src)\// },
];

test(
  'a replica worker loads only the worker script, the replica module and the media: no simulator, checker, piscina, driver side, tests or bench',
  { timeout: DRIVER_TIMEOUT_MS + 10_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'heal-it-load-log-'));
    const log = join(dir, 'loads.txt');
    try {
      try {
        await promisify(execFile)(process.execPath, ['--import', PRELOAD, DRIVER], {
          env: { ...process.env, HEAL_LOAD_LOG: log },
          timeout: DRIVER_TIMEOUT_MS,
          killSignal: 'SIGKILL',
          maxBuffer: 1 << 20,
        });
      } catch (err) {
        const e = err as { code?: unknown; stdout?: string; stderr?: string };
        assert.fail(
          `the driver failed (exit ${String(e.code)}):\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
        );
      }
      const lines = readFileSync(log, 'utf8')
        .split('\n')
        .filter((line) => line !== '');
      // The log sees both loaders, in the first workers and in the restarted one.
      for (const expected of [
        /^import .*\/actors\/dist\/src\/threads\/actor-worker\.js$/,
        /^import .*\/heal\/dist\/src\/heal-module\.js$/,
        /^import .*\/kv\/dist\/src\/storage\/pmem-storage\.js$/,
        /^require .*pmem_mapping\.node from .*\/pmem\/dist\/src\/mmap\.js$/,
      ]) {
        const count = lines.filter((line) => expected.test(line)).length;
        assert.equal(
          count,
          4,
          `${expected} in each of the 4 workers (3 started, 1 restarted); the log:\n${lines.join('\n')}`,
        );
      }
      for (const { what, pattern } of FORBIDDEN) {
        const found = lines.filter((line) => pattern.test(line));
        assert.deepEqual(found, [], `a replica worker loaded ${what}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
