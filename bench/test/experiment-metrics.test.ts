import { failureMs, viewChanges, viewInstalls } from '../src/experiment/view-timeline.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketSpan, degradation, meanOpsPerSec, sumBuckets } from '../src/experiment/metrics.js';
import { compareToHeal, goalsSection } from '../src/experiment/report.js';
import type { StrategyRun } from '../src/experiment/run-experiment.js';

test('a window is measured over the buckets wholly inside it', () => {
  assert.deepEqual(bucketSpan({ fromMs: 1000, toMs: 1100 }, 1000, 10), {
    first: 0,
    end: 10,
    mode: 'contained',
  });
  assert.deepEqual(bucketSpan({ fromMs: 1005, toMs: 1031 }, 1000, 10), {
    first: 1,
    end: 3,
    mode: 'contained',
  });
});

test('a window holding no whole bucket is measured over the buckets it overlaps, and says so', () => {
  assert.deepEqual(bucketSpan({ fromMs: 1003, toMs: 1007 }, 1000, 10), {
    first: 0,
    end: 1,
    mode: 'overlapping',
  });
  assert.deepEqual(bucketSpan({ fromMs: 1005, toMs: 1015 }, 1000, 10), {
    first: 0,
    end: 2,
    mode: 'overlapping',
  });
  assert.deepEqual(bucketSpan({ fromMs: 1010, toMs: 1010 }, 1000, 10), {
    first: 1,
    end: 2,
    mode: 'overlapping',
  });
});

test('degradation is 1 - mean(recovery buckets) / mean(steady buckets), in ops/s of 10 ms buckets', () => {
  // Steady: buckets 0..9 at 100 ops each; recovery: buckets 12..13 at 50 and 100; a bucket past the data counts 0.
  const perBucket = [...Array<number>(10).fill(100), 0, 0, 50, 100];
  const d = degradation(perBucket, 0, 10, { fromMs: 0, toMs: 100 }, { fromMs: 120, toMs: 140 });
  assert.equal(d.steadyOpsPerSec, 10_000);
  assert.equal(d.recoveryOpsPerSec, 7_500);
  assert.equal(d.degradation, 0.25);
  assert.equal(d.recoveryBuckets, 2);
  assert.equal(d.recoveryWindow, 'contained');
  assert.equal(meanOpsPerSec(perBucket, { first: 14, end: 16, mode: 'contained' }, 10), 0);
  assert.ok(
    Number.isNaN(
      degradation([0, 0], 0, 10, { fromMs: 0, toMs: 20 }, { fromMs: 0, toMs: 10 }).degradation,
    ),
  );
});

test('the failure window runs from the crash to the first view without the victim; views in a window are counted', () => {
  const stats = [
    {
      'view.0.epoch': 1,
      'view.0.atMs': 5,
      'view.0.membersLo': 0b111,
      'view.0.membersHi': 0,
      'view.1.epoch': 2,
      'view.1.atMs': 130,
      'view.1.membersLo': 0b101,
      'view.1.membersHi': 0,
    },
    {
      'view.0.epoch': 2,
      'view.0.atMs': 120,
      'view.0.membersLo': 0b101,
      'view.0.membersHi': 0,
      'view.1.epoch': 3,
      'view.1.atMs': 400,
      'view.1.membersLo': 0b111,
      'view.1.membersHi': 1,
    },
  ];
  const views = viewInstalls(stats);
  assert.deepEqual(views, [
    { epoch: 1, atMs: 5, members: [0, 1, 2] },
    { epoch: 2, atMs: 120, members: [0, 2] },
    { epoch: 3, atMs: 400, members: [0, 1, 2, 32] },
  ]);
  assert.equal(
    failureMs(views, 1, 100),
    20,
    'the earliest install of the first view without replica 1',
  );
  assert.equal(failureMs(views, 0, 100), null, 'no view dropped replica 0');
  assert.equal(viewChanges(views, 0, 100), 1);
  assert.equal(viewChanges(views, 10, 100), 0);
});

test("the load generators' buckets add up", () => {
  assert.deepEqual(sumBuckets([[1, 2], [3, 4, 5], []]), [4, 6, 5]);
});

function run(
  strategy: string,
  recoveryMs: number,
  phasesMs: Record<string, number>,
  degradation: number,
): StrategyRun {
  return {
    strategy,
    runtime: 'threads',
    failureMs: 50,
    outageDegradation: 0.1,
    steadyViewChanges: 0,
    peakSilenceMs: 10,
    views: [{ epoch: 2, atMs: 51, members: [0, 2] }],
    recoveryMs,
    phasesMs,
    recoveryCpuMs: null,
    degradation,
    missedKeys: 1,
    missedWrites: 1,
    missedBytes: 100,
    bytesMoved: 100,
    entriesReceived: 1,
    entriesApplied: 1,
    counts: {},
    steadyOpsPerSec: 1000,
    recoveryOpsPerSec: 900,
    lateOutageOpsPerSec: 1100,
    workerStartOpsPerSec: 700,
    phaseOpsPerSec: { load: 900 },
    tailOpsPerSec: 1000,
    recoveryBuckets: 3,
    recoveryWindow: 'contained',
    clusterStarts: 1,
    startEpoch: 1,
    clusterStartMs: 10,
    workerStartMs: 10,
    restartWarmUp: null,
    operations: 10,
    failed: 0,
    timeouts: 0,
    shed: 0,
    steadyP50Us: 1,
    steadyP99Us: 2,
    afterCrashP99Us: 3,
    marksMs: {
      steadyFromMs: 0,
      crashMs: 1,
      restartCalledMs: 2,
      restartMs: 3,
      servingReadsMs: 4,
      stopMs: 5,
    },
    opsPerBucket: [1],
    bucketMs: 10,
  };
}

test('ratios are against HEAL; a missed goal is explained phase by phase', () => {
  const rows = compareToHeal([
    run('heal', 100, { load: 60, join: 40 }, 0.1),
    run('full-copy', 1000, { load: 60, copy: 940 }, 0.2),
    run('leader-incremental', 150, { load: 60, sync: 90 }, 0.05),
  ]);
  assert.deepEqual(
    rows.map((r) => r.latencyVsHeal),
    [1, 10, 1.5],
  );
  assert.deepEqual(
    rows.map((r) => r.degradationOverHeal),
    [0, 0.1, -0.05],
  );
  const goals = goalsSection(rows, { threads: 9, cpus: 2 });
  assert.match(
    goals,
    /leader-incremental's: missed; leader-incremental took 1\.50x HEAL's time \(150 ms vs 100 ms\)/,
  );
  assert.match(goals, /full-copy's: missed; full-copy took 10\.00x/);
  assert.match(goals, /under 5\.0%: missed, actual 10\.0%/);
  assert.match(goals, /- heal: 100 ms = load 60 ms \(60%\) \+ join 40 ms \(40%\)/);
  assert.match(goals, /By phase .*: load 900 ops\/s \(10\.0% below steady\)/);
  assert.match(goals, /\(9 busy threads on 2 CPUs here\)/);
  assert.match(goals, /the second half of the outage ran at 1,100 ops\/s \(10\.0% above steady\)/);
  assert.match(
    goals,
    /heal 40 ms, leader-incremental 90 ms, full-copy 940 ms; ratios leader-incremental 2\.3x, full-copy 23\.5x/,
  );
  assert.equal(compareToHeal([run('full-copy', 1, {}, 0)])[0]?.latencyVsHeal, null);
});
