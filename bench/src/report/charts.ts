/**
 * Charts for the recovery-experiment reports.
 *
 * Each chart is a vega-lite spec, compiled to a vega spec and rendered headless in Node by a vega
 * `View` with renderer 'none' and `toSVG()`: no canvas, no DOM, no native module. The result is a
 * standalone SVG document (`<svg xmlns=...>...</svg>`) that a report can link or embed. The
 * project draws charts with a charting library, never with hand-built SVG strings.
 *
 * Input is validated before anything renders: bad input throws a RangeError naming the field and
 * its index (`series[1].points[42].opsPerSec must be a finite number >= 0, got NaN`).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse, View } from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

export interface ThroughputPoint {
  tMs: number;
  opsPerSec: number;
}

export interface ThroughputSeries {
  strategy: string;
  points: readonly ThroughputPoint[];
}

/** A moment worth a vertical rule in one strategy's panel ('crash', 'restart', 'serving reads'). */
export interface ThroughputMark {
  strategy: string;
  label: string;
  tMs: number;
}

export interface ThroughputChartInput {
  title: string;
  series: readonly ThroughputSeries[];
  marks: readonly ThroughputMark[];
}

export interface RecoveryLatencyPoint {
  x: number | string;
  strategy: string;
  recoveryMs: number;
}

export interface RecoveryLatencyChartInput {
  title: string;
  xLabel: string;
  points: readonly RecoveryLatencyPoint[];
  /** Log y-scale; the default, since a full copy can take 1000x longer than an incremental one. */
  logScale?: boolean;
}

/** A throughput line longer than this is averaged over time windows before it is drawn. */
export const MAX_DISPLAY_POINTS_PER_SERIES = 600;
const THROUGHPUT_PANEL_WIDTH_PX = 720;
const THROUGHPUT_PANEL_HEIGHT_PX = 130;
const LATENCY_CHART_WIDTH_PX = 480;
const LATENCY_CHART_HEIGHT_PX = 300;
/** Mark labels in one panel take turns over this many rows so that close marks stay legible. */
const MARK_LABEL_ROWS = 3;
const MARK_LABEL_ROW_HEIGHT_PX = 12;
const MS_PER_S = 1000;
/** Axis labels in SI units (20k, 1.5M), with a plain 0 rather than d3's '0k'. */
const SI_LABEL_EXPR = "datum.value === 0 ? '0' : format(datum.value, '~s')";

/** One layer of a vega-lite layer chart. */
type Layer = Extract<TopLevelSpec, { layer: unknown }>['layer'][number];

/** One row of the throughput chart's single data set (a facet needs all its layers in one). */
type ThroughputRow =
  | { kind: 'rate'; strategy: string; tS: number; opsPerSec: number }
  | { kind: 'mark'; strategy: string; tS: number; label: string; labelYPx: number };

/**
 * Throughput over time, one panel per strategy (in input order, one colour each) on a shared
 * time axis and a shared ops/s axis, with a labelled vertical rule at each mark. Lines longer
 * than MAX_DISPLAY_POINTS_PER_SERIES are averaged over equal time windows; the subtitle says so.
 */
export async function throughputChart(input: ThroughputChartInput): Promise<string> {
  validateThroughput(input);
  const windowMs = displayWindowMs(input.series);
  const rows: ThroughputRow[] = [];
  for (const s of input.series) {
    for (const p of averageOverWindows(s.points, windowMs)) {
      rows.push({
        kind: 'rate',
        strategy: s.strategy,
        tS: p.tMs / MS_PER_S,
        opsPerSec: p.opsPerSec,
      });
    }
  }
  rows.push(...markRows(input.marks));
  const strategies = input.series.map((s) => s.strategy);
  const subtitle =
    windowMs === 0
      ? 'ops/s as measured, one point per sample'
      : `ops/s averaged over ${windowMs} ms windows for display (at most ` +
        `${MAX_DISPLAY_POINTS_PER_SERIES} points per line)`;
  return renderSvg(throughputSpec(input.title, subtitle, strategies, rows));
}

/** One panel per strategy (a row facet); each panel layers the line, the rules and their labels. */
function throughputSpec(
  title: string,
  subtitle: string,
  strategies: readonly string[],
  rows: readonly ThroughputRow[],
): TopLevelSpec {
  return {
    title: { text: title, subtitle, anchor: 'start' },
    data: { values: [...rows] },
    facet: {
      row: {
        field: 'strategy',
        type: 'nominal',
        sort: [...strategies],
        header: {
          title: null,
          labelAngle: 0,
          labelOrient: 'top',
          labelAnchor: 'start',
          labelFontWeight: 'bold',
        },
      },
    },
    spacing: 18,
    spec: {
      width: THROUGHPUT_PANEL_WIDTH_PX,
      height: THROUGHPUT_PANEL_HEIGHT_PX,
      layer: [throughputLineLayer(strategies), ...markLayers()],
    },
    resolve: { scale: { x: 'shared', y: 'shared' } },
  };
}

const TIME_AXIS = { field: 'tS', type: 'quantitative', title: 'time since start (s)' } as const;

function throughputLineLayer(strategies: readonly string[]): Layer {
  return {
    transform: [{ filter: "datum.kind === 'rate'" }],
    mark: { type: 'line', strokeWidth: 1.25, interpolate: 'linear' },
    encoding: {
      x: TIME_AXIS,
      y: {
        field: 'opsPerSec',
        type: 'quantitative',
        title: 'ops/s',
        axis: { labelExpr: SI_LABEL_EXPR },
      },
      color: {
        field: 'strategy',
        type: 'nominal',
        scale: { domain: [...strategies] },
        legend: null,
      },
    },
  };
}

/** A dashed vertical rule at each mark, its label at the top of the panel in one of the rows. */
function markLayers(): Layer[] {
  return [
    {
      transform: [{ filter: "datum.kind === 'mark'" }],
      mark: { type: 'rule', color: '#555', strokeDash: [4, 3] },
      encoding: { x: TIME_AXIS },
    },
    {
      transform: [{ filter: "datum.kind === 'mark'" }],
      mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, fontSize: 10, color: '#333' },
      encoding: {
        x: TIME_AXIS,
        y: { field: 'labelYPx', type: 'quantitative', scale: null },
        text: { field: 'label' },
      },
    },
  ];
}

/** One row per mark; within a strategy, marks in time order take turns over the label rows. */
function markRows(marks: readonly ThroughputMark[]): ThroughputRow[] {
  const byStrategy = new Map<string, ThroughputMark[]>();
  for (const m of marks) {
    const list = byStrategy.get(m.strategy) ?? [];
    list.push(m);
    byStrategy.set(m.strategy, list);
  }
  const rows: ThroughputRow[] = [];
  for (const [strategy, list] of byStrategy) {
    list.sort((a, b) => a.tMs - b.tMs);
    list.forEach((m, i) => {
      const labelYPx = 2 + (i % MARK_LABEL_ROWS) * MARK_LABEL_ROW_HEIGHT_PX;
      rows.push({ kind: 'mark', strategy, tS: m.tMs / MS_PER_S, label: m.label, labelYPx });
    });
  }
  return rows;
}

/**
 * The display window: 0 (draw every sample) when every series fits MAX_DISPLAY_POINTS_PER_SERIES,
 * otherwise the smallest 1-2-5 step in ms that brings the longest time span within it.
 */
export function displayWindowMs(series: readonly ThroughputSeries[]): number {
  let longest = 0;
  let spanMs = 0;
  for (const s of series) {
    longest = Math.max(longest, s.points.length);
    let firstMs = Infinity;
    let lastMs = -Infinity;
    for (const p of s.points) {
      firstMs = Math.min(firstMs, p.tMs);
      lastMs = Math.max(lastMs, p.tMs);
    }
    spanMs = Math.max(spanMs, lastMs - firstMs);
  }
  if (longest <= MAX_DISPLAY_POINTS_PER_SERIES) return 0;
  const wantedMs = spanMs / MAX_DISPLAY_POINTS_PER_SERIES;
  for (let decade = 1; ; decade *= 10) {
    for (const step of [1, 2, 5]) {
      if (step * decade >= wantedMs) return step * decade;
    }
  }
}

/**
 * Mean ops/s of the samples in each window [k*windowMs, (k+1)*windowMs), placed at the window's
 * middle; samples as given when windowMs is 0. Equal-width samples make the mean of their rates
 * the rate over the window.
 */
export function averageOverWindows(
  points: readonly ThroughputPoint[],
  windowMs: number,
): ThroughputPoint[] {
  if (windowMs === 0) return points.map((p) => ({ tMs: p.tMs, opsPerSec: p.opsPerSec }));
  assert.ok(windowMs > 0);
  const sums = new Map<number, { total: number; count: number }>();
  let first = Infinity;
  let last = -Infinity;
  for (const p of points) {
    const k = Math.floor(p.tMs / windowMs);
    first = Math.min(first, k);
    last = Math.max(last, k);
    const acc = sums.get(k) ?? { total: 0, count: 0 };
    acc.total += p.opsPerSec;
    acc.count += 1;
    sums.set(k, acc);
  }
  assert.ok(sums.size <= last - first + 1, 'one window per window index');
  return [...sums.entries()]
    .sort(([a], [b]) => a - b)
    .map(([k, acc]) => ({ tMs: (k + 0.5) * windowMs, opsPerSec: acc.total / acc.count }));
}

function validateThroughput(input: ThroughputChartInput): void {
  checkText(input.title, 'title');
  if (input.series.length === 0) throw new RangeError('series must not be empty');
  const strategies = new Set<string>();
  input.series.forEach((s, i) => {
    checkText(s.strategy, `series[${i}].strategy`);
    if (strategies.has(s.strategy)) {
      throw new RangeError(`series[${i}].strategy '${s.strategy}' appears twice`);
    }
    strategies.add(s.strategy);
    if (s.points.length === 0) throw new RangeError(`series[${i}].points must not be empty`);
    s.points.forEach((p, j) => {
      checkNumber(p.tMs, `series[${i}].points[${j}].tMs`, 0);
      checkNumber(p.opsPerSec, `series[${i}].points[${j}].opsPerSec`, 0);
    });
  });
  input.marks.forEach((m, i) => {
    checkText(m.label, `marks[${i}].label`);
    checkNumber(m.tMs, `marks[${i}].tMs`, 0);
    if (!strategies.has(m.strategy)) {
      throw new RangeError(`marks[${i}].strategy '${m.strategy}' names no series`);
    }
  });
}

/**
 * Recovery latency per sweep point: one line with points per strategy (in order of first
 * appearance; colour and shape each), y on a log scale unless logScale is false. x is categorical
 * (in input order) when every x is a string, numeric when every x is a number, and a numeric x
 * sweep over positive values spanning X_LOG_SCALE_MIN_RATIO or more (1k..1M keys) is drawn on a
 * log scale too; each axis title says when it is logarithmic.
 */
export async function recoveryLatencyChart(input: RecoveryLatencyChartInput): Promise<string> {
  const logScale = input.logScale ?? true;
  validateRecoveryLatency(input, logScale);
  const strategies = [...new Set(input.points.map((p) => p.strategy))];
  const y = {
    field: 'recoveryMs',
    type: 'quantitative',
    title: logScale ? 'recovery time (ms, log scale)' : 'recovery time (ms)',
    scale: logScale ? ({ type: 'log' } as const) : ({ type: 'linear', zero: true } as const),
    axis: { labelExpr: SI_LABEL_EXPR },
  } as const;
  const x = sweepAxis(input);
  const color = {
    field: 'strategy',
    type: 'nominal',
    title: 'strategy',
    scale: { domain: strategies },
  } as const;
  const shape = {
    field: 'strategy',
    type: 'nominal',
    title: 'strategy',
    scale: { domain: strategies },
  } as const;
  const spec: TopLevelSpec = {
    title: { text: input.title, anchor: 'start' },
    width: LATENCY_CHART_WIDTH_PX,
    height: LATENCY_CHART_HEIGHT_PX,
    data: {
      values: input.points.map((p) => ({ x: p.x, strategy: p.strategy, recoveryMs: p.recoveryMs })),
    },
    layer: [
      { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y, color } },
      { mark: { type: 'point', filled: true, size: 40 }, encoding: { x, y, color, shape } },
    ],
  };
  return renderSvg(spec);
}

/** A numeric sweep whose largest x is at least this many times its smallest gets a log x-scale. */
export const X_LOG_SCALE_MIN_RATIO = 100;

function sweepAxis(input: RecoveryLatencyChartInput) {
  const xs = input.points.map((p) => p.x);
  if (!xs.every((x): x is number => typeof x === 'number')) {
    const order = [...new Set(xs.map(String))];
    return {
      field: 'x',
      type: 'ordinal',
      title: input.xLabel,
      sort: order,
      axis: { labelAngle: 0 },
    } as const;
  }
  const least = xs.reduce((a, b) => Math.min(a, b));
  const most = xs.reduce((a, b) => Math.max(a, b));
  const logX = least > 0 && most / least >= X_LOG_SCALE_MIN_RATIO;
  return {
    field: 'x',
    type: 'quantitative',
    title: logX ? `${input.xLabel} (log scale)` : input.xLabel,
    scale: logX ? ({ type: 'log' } as const) : ({ type: 'linear', zero: false } as const),
    axis: { labelExpr: SI_LABEL_EXPR },
  } as const;
}

/** Checks the input: all x numbers or all x strings, latencies finite (and > 0 on a log scale). */
function validateRecoveryLatency(input: RecoveryLatencyChartInput, logScale: boolean): void {
  checkText(input.title, 'title');
  checkText(input.xLabel, 'xLabel');
  if (input.points.length === 0) throw new RangeError('points must not be empty');
  const numericX = typeof input.points[0]?.x === 'number';
  input.points.forEach((p, i) => {
    checkText(p.strategy, `points[${i}].strategy`);
    if (typeof p.x === 'number') {
      if (!numericX)
        throw new RangeError(`points[${i}].x is a number where points[0].x is a string`);
      checkNumber(p.x, `points[${i}].x`, -Infinity);
    } else {
      if (numericX)
        throw new RangeError(`points[${i}].x is a string where points[0].x is a number`);
      checkText(p.x, `points[${i}].x`);
    }
    checkNumber(p.recoveryMs, `points[${i}].recoveryMs`, 0);
    if (logScale && p.recoveryMs === 0) {
      throw new RangeError(`points[${i}].recoveryMs must be > 0 on a log scale, got 0`);
    }
  });
}

/** Writes a rendered chart to `path`, creating its directory. */
export function writeChart(path: string, svg: string): void {
  if (!svg.startsWith('<svg')) throw new RangeError(`svg for ${path} must start with '<svg'`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, svg.endsWith('\n') ? svg : `${svg}\n`);
}

async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    assert.ok(svg.startsWith('<svg') && svg.endsWith('</svg>'), 'vega renders one svg element');
    return svg;
  } finally {
    view.finalize();
  }
}

function checkNumber(value: number, field: string, min: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    const bound = min === -Infinity ? '' : ` >= ${min}`;
    throw new RangeError(`${field} must be a finite number${bound}, got ${String(value)}`);
  }
}

function checkText(value: string, field: string): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new RangeError(`${field} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
}
