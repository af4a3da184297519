// Preloaded into the test files run side by side (see run-tests.mjs): they must not start
// worker threads or processes, whose timing a second test file beside them would disturb. A
// file that does fails here, naming what it started, instead of passing or failing by chance.
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import workerThreads from 'node:worker_threads';

// A function, not an arrow: `new Worker(...)` must reach the throw, not fail as a non-constructor.
const refuse = (what) =>
  function refused() {
    throw new Error(
      `run-tests: this test file starts ${what}, but it was run beside others as a single-threaded ` +
        'file: make run-tests.mjs see it (STARTS_THREADS), so it runs alone',
    );
  };
workerThreads.Worker = refuse('a worker thread');
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'])
  childProcess[name] = refuse(`a process (child_process.${name})`);
syncBuiltinESMExports();
