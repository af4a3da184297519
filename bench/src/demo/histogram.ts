import assert from 'node:assert/strict';

/**
 * A log-linear histogram of non-negative integers (latencies in µs): exact below 32, then 32
 * buckets per power of two, so a percentile is off by at most 1/32 (~3%). Fixed size; counts
 * are a plain array so that they cross threads (structured clone) and merge by addition.
 */
const kSubBits = 5;
const kSub = 1 << kSubBits;
/** Values above this are counted in the last bucket. */
export const HISTOGRAM_MAX_VALUE = 0x7fffffff;
export const HISTOGRAM_BUCKETS = (31 - kSubBits + 1) * kSub;

export function newHistogram(): number[] {
  return new Array<number>(HISTOGRAM_BUCKETS).fill(0);
}

export function bucketOf(value: number): number {
  if (!(value >= 0)) assert.fail(`histogram value must be >= 0, got ${value}`); // NaN fails too; a message per call would cost more than the bucket
  const v = Math.min(Math.floor(value), HISTOGRAM_MAX_VALUE);
  if (v < kSub) return v;
  const exponent = 31 - Math.clz32(v);
  return (exponent - kSubBits + 1) * kSub + ((v >>> (exponent - kSubBits)) - kSub);
}

/** The smallest value that falls in `bucket`, and the bucket's width. */
export function bucketRange(bucket: number): { low: number; width: number } {
  assert(Number.isInteger(bucket) && bucket >= 0 && bucket < HISTOGRAM_BUCKETS, `bucket ${bucket} out of range`);
  if (bucket < kSub) return { low: bucket, width: 1 };
  const exponent = Math.floor(bucket / kSub) + kSubBits - 1;
  const shift = exponent - kSubBits;
  return { low: (kSub + (bucket % kSub)) * 2 ** shift, width: 2 ** shift };
}

export function record(histogram: number[], value: number): void {
  const b = bucketOf(value);
  histogram[b] = (histogram[b] ?? 0) + 1;
}

export function merge(into: number[], from: readonly number[]): void {
  assert.equal(from.length, into.length, 'histograms differ in size');
  for (let i = 0; i < from.length; i++) into[i] = (into[i] ?? 0) + (from[i] ?? 0);
}

/** The value at quantile `q` (0 < q <= 1): the midpoint of its bucket; NaN when empty. */
export function quantile(histogram: readonly number[], q: number): number {
  assert(q > 0 && q <= 1, `quantile must be in (0, 1], got ${q}`);
  let total = 0;
  for (const n of histogram) total += n;
  if (total === 0) return Number.NaN;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let b = 0; b < histogram.length; b++) {
    seen += histogram[b] ?? 0;
    if (seen >= rank) {
      const { low, width } = bucketRange(b);
      return width === 1 ? low : low + (width - 1) / 2;
    }
  }
  return Number.NaN;
}
