import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitLinear, Samples } from '../src/calibrate/fit.js';
import { fitThreadOverhead, withThreadOverhead } from '../src/calibrate/thread-overhead.js';
import type { ThreadRun } from '../src/calibrate/validate.js';
import { DEMO_EXPERIMENT, type ExperimentConfig } from '../src/experiment/config.js';
import type { StrategyRun } from '../src/experiment/summarize.js';
import { runSimExperiment } from '../src/sim/run-sim-experiment.js';
import { SIM_MODEL } from '../src/sim/sim-config.js';
import { loadCostProfile } from '../src/sim/cost-profiles.js';
import { heal } from './run-heal.js';

test('a cost is fitted through the medians of each size: preempted samples count for nothing', () => {
  const s = new Samples();
  for (const bytes of [100, 1000, 10_000]) {
    for (let i = 0; i < 99; i++) s.add(bytes, 500 + 2 * bytes + (i % 3));
    // One sample in a hundred was preempted for a millisecond.
    s.add(bytes, 1_000_000);
  }
  const fit = fitLinear(s);
  assert.ok(Math.abs(fit.nsPerByte - 2) < 0.01, `ns per byte: ${fit.nsPerByte}`);
  assert.ok(Math.abs(fit.ns - 501) < 5, `ns: ${fit.ns}`);
  assert.equal(fit.samples, 300);
  const oneSize = new Samples();
  for (let i = 0; i < 10; i++) oneSize.add(64, 1000 + i);
  assert.deepEqual(
    fitLinear(oneSize),
    { ns: 1004.5, nsPerByte: 0, samples: 10 },
    'one size: its median, no per-byte cost',
  );
});

test('heal calibrate names a flag that belongs to the other mode, or a bad value', async () => {
  const runs = await Promise.all([
    heal('calibrate', '--validate', '--runs', '2'),
    heal('calibrate', '--keys', '1000'),
    heal('calibrate', '--runs', '0'),
    heal('calibrate', '--validate', '--cost-profile', '/nonexistent/profile.json'),
  ]);
  for (const r of runs) {
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
  }
  assert.match(runs[0]!.stderr, /--runs does not apply to --validate/);
  assert.match(runs[1]!.stderr, /--keys applies only to --validate/);
  assert.match(runs[2]!.stderr, /--runs must be an integer in \[1, 50\], got 0/);
  assert.match(
    runs[3]!.stderr,
    /--cost-profile: cost profile \/nonexistent\/profile\.json: cannot read it/,
  );
});

test('heal calibrate --quick writes a cost profile the simulator loads, with the machine it was measured on', async () => {
  const out = mkdtempSync(join(tmpdir(), 'heal-calibrate-'));
  try {
    const run = await heal(
      'calibrate',
      '--quick',
      '--name',
      'test-profile',
      '--out',
      out,
      '--json',
    );
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as {
      command: string;
      results: { party: string; cost: string; ns: number }[];
    };
    assert.equal(doc.command, 'calibrate');
    const { profile } = loadCostProfile(join(out, 'cost-profile.json'));
    assert.equal(profile.name, 'test-profile');
    assert.ok(
      typeof profile.machine['cpus'] === 'number' &&
        typeof profile.machine['cpuModel'] === 'string',
      JSON.stringify(profile.machine),
    );
    for (const kind of ['get', 'put', 'inv', 'ack'])
      assert.ok(
        (profile.replica.receive[kind]?.ns ?? 0) > 0,
        `a replica's ${kind} costs something`,
      );
    assert.ok((profile.client.receive['get-ok']?.ns ?? 0) > 0, "a client's get-ok costs something");
    for (const medium of ['wal', 'pmem'] as const)
      assert.ok(
        (profile.media[medium]?.read.ns ?? 0) > 0,
        `reading a ${medium} record costs something`,
      );
    assert.ok(
      doc.results.some((r) => r.party === 'replica' && r.cost === 'receive get'),
      'the report lists the costs',
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("the thread runtime's overhead is fitted so that the simulator spends what threads spent per operation and to recover", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'heal-thread-overhead-'));
  try {
    const config: ExperimentConfig = {
      ...DEMO_EXPERIMENT,
      strategies: ['heal'],
      replicas: 3,
      keys: 600,
      warmupMs: 100,
      steadyMs: 200,
      suspicionMs: 300,
      outageMs: 400,
      tailMs: 100,
      dataDir: dir,
    };
    const sim = {
      ...config,
      ...SIM_MODEL,
      sharedCores: 2,
      link: 'loopback' as const,
      costProfile: '',
      check: false,
    };
    const profile = loadCostProfile('default').profile;
    // A thread run made by the simulator itself with a known overhead: the fit must find it.
    const truth = { jobNs: 20_000, restartNs: 3_000_000 };
    const [made] = runSimExperiment(sim, {
      profile: withThreadOverhead(profile, truth),
      path: 'truth',
    });
    assert.ok(made!.entriesReceived > 0, 'the scenario recovers entries');
    const madeNsPerOp = (made!.cpuBusyMs.reduce((a, b) => a + b, 0) * 1e6) / made!.operations;
    const madeRecoveryMs = made!.recoveryCpuMs ?? NaN;
    const threadRow = { steadyOpsPerSec: 10_000, recoveryCpuMs: madeRecoveryMs } as StrategyRun;
    const threads: ThreadRun = { rows: [threadRow], cores: (madeNsPerOp * 10_000) / 1e9 };
    const fit = await fitThreadOverhead(
      profile,
      config,
      () => Promise.resolve(threads),
      () => {},
    );
    assert.equal(fit.threadsNsPerOp, Math.round(madeNsPerOp));
    assert.ok(Math.abs(fit.jobNs / truth.jobNs - 1) < 0.1, JSON.stringify(fit));
    assert.ok(Math.abs(fit.restartNs / truth.restartNs - 1) < 0.2, JSON.stringify(fit));
    const [run] = runSimExperiment(sim, {
      profile: withThreadOverhead(profile, fit),
      path: 'fitted',
    });
    const nsPerOp = (run!.cpuBusyMs.reduce((a, b) => a + b, 0) * 1e6) / run!.operations;
    assert.ok(
      Math.abs(nsPerOp / madeNsPerOp - 1) < 0.1,
      `the fitted profile charges ${nsPerOp} ns per operation, threads ${madeNsPerOp}`,
    );
    assert.ok(
      Math.abs((run!.recoveryCpuMs ?? NaN) / madeRecoveryMs - 1) < 0.2,
      `the fitted profile charges ${run!.recoveryCpuMs} ms to the recovering replica, threads ${madeRecoveryMs}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
