import assert from 'node:assert/strict';

/** A time window on the shared clock, [fromMs, toMs). */
export interface Window {
  fromMs: number;
  toMs: number;
}

/**
 * The buckets a window is measured over: those wholly inside it ('contained'), or, when it is
 * shorter than that allows, the buckets it overlaps ('overlapping').
 */
export interface BucketSpan {
  first: number;
  /** One past the last bucket. */
  end: number;
  mode: 'contained' | 'overlapping';
}

/** Bucket b covers [originMs + b * bucketMs, originMs + (b + 1) * bucketMs). */
export function bucketSpan(window: Window, originMs: number, bucketMs: number): BucketSpan {
  assert(bucketMs > 0, `bucketMs must be positive, got ${bucketMs}`);
  assert(
    window.toMs >= window.fromMs,
    `window ends (${window.toMs}) before it starts (${window.fromMs})`,
  );
  assert(
    window.fromMs >= originMs,
    `window starts (${window.fromMs}) before bucket 0 (${originMs})`,
  );
  const from = (window.fromMs - originMs) / bucketMs;
  const to = (window.toMs - originMs) / bucketMs;
  const first = Math.ceil(from);
  const end = Math.floor(to);
  if (end > first) return { first, end, mode: 'contained' };
  return {
    first: Math.floor(from),
    end: Math.max(Math.floor(from) + 1, Math.ceil(to)),
    mode: 'overlapping',
  };
}

/** Mean ops/s over the span's buckets (a bucket past the recorded ones counted nothing). */
export function meanOpsPerSec(
  perBucket: readonly number[],
  span: BucketSpan,
  bucketMs: number,
): number {
  let total = 0;
  for (let b = span.first; b < span.end; b++) total += perBucket[b] ?? 0;
  return (total / (span.end - span.first)) * (1000 / bucketMs);
}

/** Adds the per-bucket counts of several load generators. */
export function sumBuckets(all: readonly (readonly number[])[]): number[] {
  const out: number[] = [];
  for (const counts of all) {
    counts.forEach((n, b) => {
      while (out.length <= b) out.push(0);
      out[b] = (out[b] as number) + n;
    });
  }
  return out;
}

export interface Degradation {
  /** 1 - mean(throughput during recovery) / mean(throughput in the steady window); NaN without steady throughput. */
  degradation: number;
  steadyOpsPerSec: number;
  recoveryOpsPerSec: number;
  steadyBuckets: number;
  recoveryBuckets: number;
  /** 'overlapping' when the recovery window is too short to hold a whole bucket. */
  recoveryWindow: BucketSpan['mode'];
}

/**
 * Throughput degradation as every report defines it: `1 - mean(throughput during
 * recovery) / mean(throughput in the steady window before the failure)`, over 10 ms buckets
 * of the same run; during recovery = from the restart to serving reads.
 */
export function degradation(
  perBucket: readonly number[],
  originMs: number,
  bucketMs: number,
  steady: Window,
  recovery: Window,
): Degradation {
  const s = bucketSpan(steady, originMs, bucketMs);
  const r = bucketSpan(recovery, originMs, bucketMs);
  const steadyOpsPerSec = meanOpsPerSec(perBucket, s, bucketMs);
  const recoveryOpsPerSec = meanOpsPerSec(perBucket, r, bucketMs);
  return {
    degradation: steadyOpsPerSec > 0 ? 1 - recoveryOpsPerSec / steadyOpsPerSec : Number.NaN,
    steadyOpsPerSec,
    recoveryOpsPerSec,
    steadyBuckets: s.end - s.first,
    recoveryBuckets: r.end - r.first,
    recoveryWindow: r.mode,
  };
}
