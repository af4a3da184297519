import assert from 'node:assert/strict';

/** A cost that grows with size, as a profile holds it. */
export interface LinearFit {
  ns: number;
  nsPerByte: number;
  samples: number;
}

/** Samples one thing keeps at most: beyond, a uniform reservoir of this many. */
export const SAMPLES_MAX = 50_000;

/**
 * Samples of one thing (a message kind's handler, a medium's write), as (bytes, ns) pairs: all
 * of them up to SAMPLES_MAX, then a uniform sample of that many (reservoir sampling with a fixed
 * seed). `count` is how many were offered.
 */
export class Samples {
  bytes: number[] = [];
  ns: number[] = [];
  count = 0;
  #seed = 0x9e3779b9;

  add(bytes: number, ns: number): void {
    this.count++;
    if (this.ns.length < SAMPLES_MAX) {
      this.bytes.push(bytes);
      this.ns.push(ns);
      return;
    }
    this.#seed = (Math.imul(this.#seed, 1664525) + 1013904223) >>> 0;
    const slot = Math.floor((this.#seed / 2 ** 32) * this.count);
    if (slot < SAMPLES_MAX) {
      this.bytes[slot] = bytes;
      this.ns[slot] = ns;
    }
  }
}

/** Sizes must span at least this ratio for a per-byte cost to be fitted; below, it is 0. */
const MIN_SIZE_SPREAD = 1.5;
/** The share of samples whose size differs by MIN_SIZE_SPREAD from the median size, for a per-byte fit. */
const MIN_FAR_SHARE = 0.05;
/** Samples are grouped by size into at most this many groups (quantiles of size). */
const SIZE_GROUPS = 16;

export function median(values: readonly number[]): number {
  assert(values.length > 0, 'median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * `ns + nsPerByte * bytes` through the medians: the samples are grouped by size (each distinct
 * size, or size quantiles when there are many), each group gives its median size and median
 * time, and a line is fitted through those points by least squares weighted by the group sizes
 * (a per-byte cost only where the sizes differ enough; both coefficients clamped at 0). Medians,
 * because on a shared machine a few-microsecond handler is now and then preempted or caught by
 * a GC, which says nothing of its own cost.
 */
export function fitLinear(s: Samples): LinearFit {
  const n = s.ns.length;
  assert(n > 0, 'fit of no samples');
  const order = s.bytes
    .map((_, i) => i)
    .sort((a, b) => (s.bytes[a] as number) - (s.bytes[b] as number));
  const groups: { bytes: number; ns: number; weight: number }[] = [];
  const distinct = new Set(s.bytes).size;
  const perGroup = distinct <= SIZE_GROUPS ? 0 : Math.ceil(n / SIZE_GROUPS);
  for (let i = 0; i < n;) {
    let j = i + 1;
    const first = s.bytes[order[i] as number] as number;
    while (j < n && (perGroup === 0 ? s.bytes[order[j] as number] === first : j - i < perGroup))
      j++;
    const members = order.slice(i, j);
    groups.push({
      bytes: median(members.map((k) => s.bytes[k] as number)),
      ns: median(members.map((k) => s.ns[k] as number)),
      weight: j - i,
    });
    i = j;
  }
  // A per-byte cost needs a good share of samples of other sizes than the usual one: a few
  // bytes more or less (keys of different lengths) say nothing of it.
  const total = groups.reduce((a, g) => a + g.weight, 0);
  const usual = median(s.bytes);
  const far = groups
    .filter((g) => g.bytes >= usual * MIN_SIZE_SPREAD || g.bytes * MIN_SIZE_SPREAD <= usual)
    .reduce((a, g) => a + g.weight, 0);
  if (far < total * MIN_FAR_SHARE) return { ns: median(s.ns), nsPerByte: 0, samples: s.count };
  const meanX = groups.reduce((a, g) => a + g.weight * g.bytes, 0) / total;
  const meanY = groups.reduce((a, g) => a + g.weight * g.ns, 0) / total;
  let sxy = 0;
  let sxx = 0;
  for (const g of groups) {
    sxy += g.weight * (g.bytes - meanX) * (g.ns - meanY);
    sxx += g.weight * (g.bytes - meanX) ** 2;
  }
  const slope = sxx > 0 ? Math.max(0, sxy / sxx) : 0;
  return { ns: Math.max(0, meanY - slope * meanX), nsPerByte: slope, samples: s.count };
}

/** The median of each coefficient over the runs' fits (samples: their total). */
export function fitAcrossRuns(fits: readonly LinearFit[]): LinearFit {
  assert(fits.length > 0, 'no runs to combine');
  return {
    ns: median(fits.map((f) => f.ns)),
    nsPerByte: median(fits.map((f) => f.nsPerByte)),
    samples: fits.reduce((a, f) => a + f.samples, 0),
  };
}

/** Rounds a cost for the profile file: ns to 0.1, ns per byte to 0.001. */
export function roundFit(f: { ns: number; nsPerByte: number }): { ns: number; nsPerByte: number } {
  return { ns: Math.round(f.ns * 10) / 10, nsPerByte: Math.round(f.nsPerByte * 1000) / 1000 };
}
