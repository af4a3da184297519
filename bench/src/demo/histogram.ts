import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/**
 * Latency histograms of the load generators, in µs: Node's HDR histogram (`perf_hooks`), with
 * three significant digits, so a percentile is within 0.1% of the recorded value.
 *
 * They cross threads as they are: a piscina task returns its histogram in its result, the
 * structured clone keeps the counts, and the main thread merges the tasks' histograms with
 * `add`. A percentile of the whole load is then read from the merged counts, never averaged
 * from the tasks' own percentiles (which would be wrong for every task mix but equal ones).
 */
const LATENCY_FIGURES = 3;
/** Longer latencies are counted as this (an hour: no run of ours lasts that long). */
export const LATENCY_HIGHEST_US = 3_600_000_000;

export type LatencyHistogram = RecordableHistogram;

export function newLatencyHistogram(): LatencyHistogram {
  return createHistogram({ lowest: 1, highest: LATENCY_HIGHEST_US, figures: LATENCY_FIGURES });
}

/**
 * Records a latency of `us` µs. HDR takes integers in [1, highest] and silently drops what lies
 * above, so the value is rounded and clamped: a sub-µs answer counts as 1 µs.
 */
export function recordLatencyUs(histogram: LatencyHistogram, us: number): void {
  histogram.record(Math.min(LATENCY_HIGHEST_US, Math.max(1, Math.round(us))));
}

/** One histogram holding the counts of all of `parts` (the tasks' histograms). */
export function mergeLatencies(parts: readonly LatencyHistogram[]): LatencyHistogram {
  const merged = newLatencyHistogram();
  for (const part of parts) merged.add(part);
  return merged;
}

/** The latency at `percentile` (0 to 100] in µs; NaN (JSON null) when nothing was recorded. */
export function latencyPercentileUs(histogram: LatencyHistogram, percentile: number): number {
  return histogram.count === 0 ? Number.NaN : histogram.percentile(percentile);
}
