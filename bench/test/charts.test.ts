import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  averageOverWindows,
  displayWindowMs,
  MAX_DISPLAY_POINTS_PER_SERIES,
  recoveryLatencyChart,
  throughputChart,
  writeChart,
} from '../src/report/charts.js';
import type { ThroughputChartInput, ThroughputSeries } from '../src/report/charts.js';

const STRATEGIES = ['heal', 'full-copy', 'leader-incremental'] as const;
const BUCKET_MS = 10;
const BUCKETS_PER_MINUTE = 6000;

/** A minute of 10 ms buckets per strategy, with a dip after a crash at 20 s. */
function minuteOfBuckets(): ThroughputChartInput {
  const series: ThroughputSeries[] = STRATEGIES.map((strategy, s) => ({
    strategy,
    points: Array.from({ length: BUCKETS_PER_MINUTE }, (_, i) => {
      const tMs = i * BUCKET_MS;
      const down = tMs >= 20_000 && tMs < 20_000 + 3_000 * (s + 1);
      return { tMs, opsPerSec: (down ? 5_000 : 50_000) + (i % 13) * 100 };
    }),
  }));
  const marks = STRATEGIES.flatMap((strategy, s) => [
    { strategy, label: 'crash', tMs: 19_000 },
    { strategy, label: 'restart', tMs: 20_000 },
    { strategy, label: 'serving reads', tMs: 20_000 + 3_000 * (s + 1) },
  ]);
  return { title: 'Throughput through a crash', series, marks };
}

/** Every opened tag is closed in order: the SVG is well-formed enough to be read as XML. */
function assertStandaloneSvg(svg: string): void {
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.endsWith('</svg>'), 'ends with </svg>');
  const open: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    assert.ok(name !== undefined);
    if (selfClosing === '/') continue;
    if (closing === '/') assert.equal(open.pop(), name, `</${name}> closes the last open tag`);
    else open.push(name);
  }
  assert.deepEqual(open, [], 'every tag is closed');
}

function assertHasText(svg: string, text: string): void {
  assert.ok(svg.includes(`>${text}</text>`), `the svg shows the text '${text}'`);
}

test('a throughput chart of 3 x 6000 buckets names each strategy and mark', async (t) => {
  const input = minuteOfBuckets();
  const startMs = performance.now();
  const svg = await throughputChart(input);
  t.diagnostic(
    `render 3 x ${BUCKETS_PER_MINUTE} points: ${(performance.now() - startMs).toFixed(0)} ms`,
  );
  assertStandaloneSvg(svg);
  for (const strategy of STRATEGIES) assertHasText(svg, strategy);
  for (const label of ['crash', 'restart', 'serving reads']) assertHasText(svg, label);
  assert.ok(
    svg.includes('averaged over 100 ms windows'),
    'the subtitle says the lines are averaged',
  );
});

test('a short throughput series is drawn sample by sample and the subtitle says so', async () => {
  const svg = await throughputChart({
    title: 'short',
    series: [
      {
        strategy: 'heal',
        points: [
          { tMs: 0, opsPerSec: 10 },
          { tMs: 100, opsPerSec: 20 },
        ],
      },
    ],
    marks: [],
  });
  assertStandaloneSvg(svg);
  assertHasText(svg, 'heal');
  assert.ok(svg.includes('one point per sample'));
});

test('the display window keeps every line within the display bound', () => {
  const input = minuteOfBuckets();
  assert.equal(displayWindowMs(input.series), 100);
  const first = input.series[0];
  assert.ok(first !== undefined);
  const shown = averageOverWindows(first.points, 100);
  assert.equal(shown.length, MAX_DISPLAY_POINTS_PER_SERIES);
  const short = [
    { strategy: 'heal', points: first.points.slice(0, MAX_DISPLAY_POINTS_PER_SERIES) },
  ];
  assert.equal(displayWindowMs(short), 0);
});

test('a window shows the mean rate of its samples at the window middle', () => {
  const points = [
    { tMs: 0, opsPerSec: 10 },
    { tMs: 50, opsPerSec: 30 },
    { tMs: 120, opsPerSec: 7 },
  ];
  assert.deepEqual(averageOverWindows(points, 100), [
    { tMs: 50, opsPerSec: 20 },
    { tMs: 150, opsPerSec: 7 },
  ]);
});

test('bad throughput input is a RangeError naming the field and index', async () => {
  const good = minuteOfBuckets();
  const withPoint = (opsPerSec: number, tMs = 0): ThroughputChartInput => ({
    ...good,
    series: [
      good.series[0]!,
      {
        strategy: 'full-copy',
        points: [
          { tMs: 0, opsPerSec: 1 },
          { tMs, opsPerSec },
        ],
      },
    ],
    marks: [],
  });
  await assert.rejects(throughputChart({ ...good, series: [] }), {
    name: 'RangeError',
    message: /^series must not be empty/,
  });
  await assert.rejects(
    throughputChart({ ...good, series: [{ strategy: 'heal', points: [] }], marks: [] }),
    {
      name: 'RangeError',
      message: /^series\[0\]\.points must not be empty/,
    },
  );
  await assert.rejects(throughputChart(withPoint(Number.NaN)), {
    name: 'RangeError',
    message: /^series\[1\]\.points\[1\]\.opsPerSec must be a finite number >= 0, got NaN/,
  });
  await assert.rejects(throughputChart(withPoint(1, Number.POSITIVE_INFINITY)), {
    name: 'RangeError',
    message: /^series\[1\]\.points\[1\]\.tMs must be a finite number/,
  });
  const strayMark = {
    ...good,
    marks: [...good.marks, { strategy: 'raft', label: 'crash', tMs: 1 }],
  };
  await assert.rejects(throughputChart(strayMark), {
    name: 'RangeError',
    message: /^marks\[9\]\.strategy 'raft' names no series/,
  });
  const badMarkTime = { ...good, marks: [{ strategy: 'heal', label: 'crash', tMs: Number.NaN }] };
  await assert.rejects(throughputChart(badMarkTime), {
    name: 'RangeError',
    message: /^marks\[0\]\.tMs must be a finite number/,
  });
});

const SWEEP = [1_000, 10_000, 100_000, 1_000_000].flatMap((keys, k) =>
  STRATEGIES.map((strategy, s) => ({
    x: keys,
    strategy,
    recoveryMs: [5, 3_000, 40][s]! * (k + 1),
  })),
);

test('a recovery latency chart names every strategy, on a log scale by default', async () => {
  const svg = await recoveryLatencyChart({
    title: 'Recovery by store size',
    xLabel: 'keys',
    points: SWEEP,
  });
  assertStandaloneSvg(svg);
  for (const strategy of STRATEGIES) assertHasText(svg, strategy);
  assertHasText(svg, 'recovery time (ms, log scale)');
});

test('a recovery latency chart takes categorical x and a linear scale', async () => {
  const points = SWEEP.map((p) => ({ ...p, x: `${p.x / 1_000}k keys` }));
  const svg = await recoveryLatencyChart({ title: 't', xLabel: 'store', points, logScale: false });
  assertStandaloneSvg(svg);
  for (const strategy of STRATEGIES) assertHasText(svg, strategy);
  assertHasText(svg, '1000k keys');
  assertHasText(svg, 'recovery time (ms)');
});

test('bad recovery latency input is a RangeError naming the field and index', async () => {
  const base = { title: 't', xLabel: 'keys' };
  const withPoint = (p: { x: number | string; recoveryMs: number }) => ({
    ...base,
    points: [...SWEEP, { strategy: 'heal', ...p }],
  });
  const last = SWEEP.length;
  await assert.rejects(recoveryLatencyChart({ ...base, points: [] }), {
    name: 'RangeError',
    message: /^points must not be empty/,
  });
  await assert.rejects(recoveryLatencyChart(withPoint({ x: 1, recoveryMs: Number.NaN })), {
    name: 'RangeError',
    message: new RegExp(`^points\\[${last}\\]\\.recoveryMs must be a finite number >= 0, got NaN`),
  });
  await assert.rejects(recoveryLatencyChart(withPoint({ x: 1, recoveryMs: 0 })), {
    name: 'RangeError',
    message: new RegExp(`^points\\[${last}\\]\\.recoveryMs must be > 0 on a log scale`),
  });
  await assert.rejects(recoveryLatencyChart(withPoint({ x: 'many', recoveryMs: 1 })), {
    name: 'RangeError',
    message: new RegExp(`^points\\[${last}\\]\\.x is a string where points\\[0\\]\\.x is a number`),
  });
  await assert.rejects(recoveryLatencyChart(withPoint({ x: Number.NaN, recoveryMs: 1 })), {
    name: 'RangeError',
    message: new RegExp(`^points\\[${last}\\]\\.x must be a finite number`),
  });
});

test('writeChart writes the svg into a new directory and refuses anything else', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'charts-'));
  try {
    const svg = await recoveryLatencyChart({ title: 't', xLabel: 'keys', points: SWEEP });
    const path = join(dir, 'nested', 'recovery.svg');
    writeChart(path, svg);
    assert.equal(readFileSync(path, 'utf8'), `${svg}\n`);
    assert.throws(() => writeChart(join(dir, 'x.svg'), '<html></html>'), RangeError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
