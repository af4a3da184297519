import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scaleProfile } from '../src/calibrate/validate.js';
import { DEFAULT_PROFILE_NAME, loadCostProfile } from '../src/sim/cost-profiles.js';
import { runSimExperiment, type SimRun } from '../src/sim/run-sim-experiment.js';
import { SIM_EXPERIMENT, SIM_MODEL, type SimExperimentConfig } from '../src/sim/sim-config.js';
import { heal } from './run-heal.js';

/** A tiny run in virtual time: 3 replicas, 600 keys on pmem, short phases, a 300 ms suspicion. */
const TINY_SIM = [
  '--replicas',
  '3',
  '--keys',
  '600',
  '--medium',
  'pmem',
  '--warmup-ms',
  '100',
  '--steady-ms',
  '200',
  '--suspicion-ms',
  '300',
  '--outage-ms',
  '400',
  '--tail-ms',
  '100',
];

function tinyConfig(dataDir: string): SimExperimentConfig {
  return {
    ...SIM_EXPERIMENT,
    ...SIM_MODEL,
    strategies: ['heal'],
    replicas: 3,
    keys: 600,
    medium: 'pmem',
    warmupMs: 100,
    steadyMs: 200,
    suspicionMs: 300,
    outageMs: 400,
    tailMs: 100,
    check: false,
    dataDir,
  };
}

/** A run's row without what depends on the host (wall-clock seconds). */
const virtualOnly = (rows: SimRun[]): Omit<SimRun, 'wallSec'>[] =>
  rows.map(({ wallSec: _wall, ...row }) => row);

test("heal recover --runtime sim reports the threads' fields in virtual time and names the cost profile", async () => {
  const out = mkdtempSync(join(tmpdir(), 'heal-sim-recover-'));
  try {
    const run = await heal(
      'recover',
      '--runtime',
      'sim',
      '--strategy',
      'heal,full-copy',
      ...TINY_SIM,
      '--data-dir',
      out,
      '--out',
      out,
      '--json',
    );
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as {
      config: { runtime: string; costProfile: { name: string; path: string } };
      results: SimRun[];
    };
    const profile = loadCostProfile('default').profile;
    assert.equal(doc.config.runtime, 'sim');
    assert.deepEqual(
      [doc.config.costProfile.name, doc.config.costProfile.path],
      [profile.name, DEFAULT_PROFILE_NAME],
    );
    assert.deepEqual(
      doc.results.map((r) => r.strategy),
      ['heal', 'full-copy'],
    );
    for (const r of doc.results) {
      const where = JSON.stringify({ ...r, opsPerBucket: undefined });
      assert.equal(r.runtime, 'sim', where);
      assert.ok(r.failureMs !== null && r.failureMs > 0, `failureMs: ${where}`);
      assert.ok(r.recoveryMs > 0, where);
      const phases = Object.values(r.phasesMs).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(phases - r.recoveryMs) < 0.01, `phases add up to recoveryMs: ${where}`);
      for (const f of [
        'degradation',
        'outageDegradation',
        'steadyOpsPerSec',
        'workerStartMs',
      ] as const) {
        assert.ok(typeof r[f] === 'number' && Number.isFinite(r[f]), `${f}: ${where}`);
      }
      assert.ok(
        r.steadyOpsPerSec > 0 && r.workerStartMs > 0,
        `a restart costs its start and load: ${where}`,
      );
      assert.equal(r.steadyViewChanges, 0, where);
      assert.equal(r.bucketMs, 10);
      assert.ok(
        r.opsPerBucket.length >= (r.marksMs.stopMs ?? 0) / 10 - 1,
        'throughput over the whole run',
      );
      assert.equal(
        r.cpuBusyMs.length,
        3 + SIM_EXPERIMENT.clients,
        'each replica and client was charged',
      );
      assert.ok(
        r.cpuBusyMs.every((ms) => ms > 0),
        where,
      );
      assert.equal(r.linearizable, true);
      assert.equal(r.replicasEqual, true);
    }
    const md = readFileSync(join(out, 'recover.md'), 'utf8');
    assert.ok(md.includes(`cost profile ${profile.name}`), 'the Markdown names the profile');
    assert.match(md, /Network: lan10g/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the same seed and cost profile give the same run; a slower machine serves fewer operations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'heal-sim-same-'));
  try {
    const config = tinyConfig(dir);
    const profile = loadCostProfile('default');
    const a = runSimExperiment(config, profile);
    const b = runSimExperiment(config, profile);
    assert.deepEqual(virtualOnly(a), virtualOnly(b));
    const slower = runSimExperiment(config, scaleProfile(profile, 2));
    const [fast, slow] = [a[0]!.steadyOpsPerSec, slower[0]!.steadyOpsPerSec];
    assert.ok(slow < fast * 0.75, `every cost doubled: ${slow} ops/s against ${fast}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('open-loop clients in the simulator issue on their schedule in virtual time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'heal-sim-open-'));
  try {
    const [run] = runSimExperiment(
      { ...tinyConfig(dir), targetOpsPerSec: 20_000 },
      loadCostProfile('default'),
    );
    assert.ok(
      run !== undefined && Math.abs(run.steadyOpsPerSec - 20_000) <= 200,
      `steady ${run?.steadyOpsPerSec} ops/s`,
    );
    assert.equal(run.failed, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
