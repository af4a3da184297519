// Mutation testing of the recovery core with StrykerJS: `npm run mutation` (CONTRIBUTING.md;
// results and the surviving mutants in docs/mutation-testing.md).
//
// Stryker mutates the TypeScript sources below in a sandbox copy of the worktree
// (.stryker-tmp/sandbox-*), instruments all mutants at once (mutant schemata; `// @ts-nocheck`
// goes at the top of each instrumented file, so strict checks such as noUnusedLocals do not stop
// the build), compiles the sandbox with tsc (buildCommand) and runs the compiled tests of the
// suites that exercise that code with Node's test runner, whose TAP output the tap runner reads.
// Coverage is per test file: a mutant runs only the files that executed it in the dry run.
//
// The sandbox has no node_modules link (symlinkNodeModules: false): the worktree's
// node_modules/@heal/* point at the worktree's packages, so through it the tests would import
// un-mutated code. scripts/mutation/sandbox-build.mjs links the sandbox's own packages instead
// (third-party packages resolve by walking up to the worktree's node_modules) and builds.
// scripts/mutation/run-test-file.mjs runs each test file at a few seeds.

// One part at a time: `npm run mutation -- --mutate FILE,...` with MUTATION_REPORT_DIR naming
// where that part's report goes (default reports/mutation/).
const reportDir = process.env['MUTATION_REPORT_DIR'] ?? 'reports/mutation';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [
    'packages/heal/src/**/*.ts',
    // durability.ts was split in three: the durability point, its trackers and persist scopes
    'packages/kv/src/protocol/durability.ts',
    'packages/kv/src/protocol/dp-trackers.ts',
    'packages/kv/src/protocol/persist-scopes.ts',
  ],
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  tap: {
    // Not here: broken-heal.test.js (it tests the suites: it runs each deliberately broken HEAL
    // until a suite catches it, up to 60 seeds of every scenario, so its time under a mutant has
    // no useful bound) and recovery-matrix.test.js (strategies x models x media, ~20 s at one
    // seed, whose cells the fault suites also run).
    // The unit tests come first (a file that fails stops the mutant's run, and these take
    // milliseconds).
    testFiles: [
      'packages/kv/dist/test/{dp-trackers,persist-scopes,durability}.test.js',
      'packages/heal/dist/test/{heal-handoff,heal-stream,heal-session,heal-options}.test.js',
      'packages/heal/dist/test/!(broken-heal|recovery-matrix).test.js',
      'packages/kv/dist/test/sim/*.test.js',
    ],
    nodeArgs: ['scripts/mutation/run-test-file.mjs', '{{testFile}}'],
    forceBail: true,
  },
  coverageAnalysis: 'perTest',
  // Error and assertion messages: a changed message is seen by nobody but a reader, and a
  // surviving string mutant costs a full run of its covering suites.
  mutator: { excludedMutations: ['StringLiteral'] },
  buildCommand: 'node scripts/mutation/sandbox-build.mjs',
  symlinkNodeModules: false,
  // dist/ is rebuilt in the sandbox from the mutated sources, never copied
  ignorePatterns: ['dist', 'heal-results', 'reports', '.tmp', 'bench/results'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  // the machine is shared and has 2 cores: one test process at a time
  concurrency: 1, // `npm run mutation -- --concurrency 2` on an idle machine
  // a mutant may make the simulator spin (a loop that never settles): that is a Timeout, which
  // counts as killed. Limit = timeoutMS + timeoutFactor * the covering files' dry-run time.
  timeoutMS: 10_000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `${reportDir}/index.html` },
  jsonReporter: { fileName: `${reportDir}/mutation.json` },
  thresholds: { high: 90, low: 75, break: null },
};
