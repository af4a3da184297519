/** Origins are replica ids: 0..this. */
export const ORIGIN_MAX = 0xffff;
/**
 * Seq intervals a vector keeps per origin. A gap (a write this replica never saw, or write
 * numbers a restarted origin skipped) starts a new interval; past the bound the lowest interval
 * is dropped, so the vector claims less, never more. Recovery selects recent writes (those of
 * an outage, or not at DP when it began), which the highest intervals cover.
 */
export const VV_INTERVALS_PER_ORIGIN_MAX = 16;
/** Origins a vector holds at most (a view has at most 64 members). */
export const VV_ORIGINS_MAX = 64;
/** Bytes `encode` takes at most: a count, then 18 per interval. */
export const VV_ENCODED_BYTES_MAX = 4 + VV_ORIGINS_MAX * VV_INTERVALS_PER_ORIGIN_MAX * 18;

/** Writes `from..to` (inclusive) of `origin`. */
export interface VvInterval {
  readonly origin: number;
  readonly from: number;
  readonly to: number;
}

const U32 = 2 ** 32;

function checkInterval(iv: VvInterval, position: number, previous: VvInterval | undefined): void {
  const { origin, from, to } = iv;
  const where = (): string =>
    `version vector interval ${position} ${JSON.stringify({ origin, from, to })}`;
  if (!Number.isInteger(origin) || origin < 0 || origin > ORIGIN_MAX) {
    throw new RangeError(`${where()}: origin must be an integer in 0..${ORIGIN_MAX}`);
  }
  if (!Number.isSafeInteger(from) || from < 1)
    throw new RangeError(`${where()}: from must be a safe integer >= 1`);
  if (!Number.isSafeInteger(to) || to < from)
    throw new RangeError(`${where()}: to must be a safe integer >= from`);
  // One encoding per vector (a MAC signs it): ascending, disjoint, never adjacent.
  if (
    previous &&
    (origin < previous.origin || (origin === previous.origin && from <= previous.to + 1))
  ) {
    throw new RangeError(
      `${where()}: must come after interval ${position - 1} ${JSON.stringify(previous)}, disjoint and not adjacent`,
    );
  }
}

/**
 * What a replica durably holds, by write number (ARCHITECTURE.md §5, The version vector): it covers write
 * `(origin, seq)` only when that write is durable here, or this replica durably holds a higher
 * ts of the write's key. A Buddy skips exactly the buffer entries the joiner's vector covers,
 * so a vector must never claim more than that.
 *
 * Kept by the replica's durability: a write it learns of (taken, ignored as older, its own,
 * installed by recovery) is added when the next sync makes its key durable at that ts or
 * later, and the vector is persisted by that sync after the records (see KvStorage.sync).
 * Owned by the replica's thread.
 */
export class VersionVector {
  /** Per origin, `[from0, to0, from1, to1, ...]` ascending, disjoint and not adjacent. */
  readonly #ranges = new Map<number, number[]>();

  /** A vector of `intervals` as `intervals()` lists them; throws a RangeError naming the first bad one. */
  static fromIntervals(intervals: Iterable<VvInterval>): VersionVector {
    const vv = new VersionVector();
    let previous: VvInterval | undefined;
    let position = 0;
    for (const iv of intervals) {
      checkInterval(iv, position++, previous);
      previous = iv;
      let ranges = vv.#ranges.get(iv.origin);
      if (!ranges) {
        if (vv.#ranges.size >= VV_ORIGINS_MAX)
          throw new RangeError(`version vector: more than ${VV_ORIGINS_MAX} origins`);
        vv.#ranges.set(iv.origin, (ranges = []));
      }
      if (ranges.length >= 2 * VV_INTERVALS_PER_ORIGIN_MAX) {
        throw new RangeError(
          `version vector: origin ${iv.origin} has more than ${VV_INTERVALS_PER_ORIGIN_MAX} intervals`,
        );
      }
      ranges.push(iv.from, iv.to);
    }
    return vv;
  }

  /** Whether write `seq` of `origin` is covered (seq 0, a preloaded record, never is). */
  covers(origin: number, seq: number): boolean {
    const ranges = this.#ranges.get(origin);
    if (!ranges || seq < 1) return false;
    // The last interval holds the recent writes: most lookups end there.
    for (let i = ranges.length - 2; i >= 0; i -= 2) {
      if (seq > (ranges[i + 1] as number)) return false;
      if (seq >= (ranges[i] as number)) return true;
    }
    return false;
  }

  /** Covers write `seq` of `origin` from now on (seq 0 is ignored). */
  add(origin: number, seq: number): void {
    if (seq < 1) return;
    let ranges = this.#ranges.get(origin);
    if (!ranges) {
      if (this.#ranges.size >= VV_ORIGINS_MAX) return; // claims less
      this.#ranges.set(origin, (ranges = []));
    }
    const n = ranges.length;
    // Fast path: the next write of the origin, or one already covered by the last interval.
    if (n > 0 && seq >= (ranges[n - 2] as number)) {
      const to = ranges[n - 1] as number;
      if (seq <= to) return;
      if (seq === to + 1) {
        ranges[n - 1] = seq;
        return;
      }
      ranges.push(seq, seq);
    } else {
      this.#insert(ranges, seq);
    }
    if (ranges.length > 2 * VV_INTERVALS_PER_ORIGIN_MAX) ranges.splice(0, 2);
  }

  #insert(ranges: number[], seq: number): void {
    let i = 0;
    while (i < ranges.length && (ranges[i + 1] as number) < seq - 1) i += 2;
    if (i === ranges.length || (ranges[i] as number) > seq + 1) {
      ranges.splice(i, 0, seq, seq);
      return;
    }
    // Touches interval i: widen it, then merge with the next if they meet.
    ranges[i] = Math.min(ranges[i] as number, seq);
    ranges[i + 1] = Math.max(ranges[i + 1] as number, seq);
    if (i + 2 < ranges.length && (ranges[i + 2] as number) <= (ranges[i + 1] as number) + 1) {
      ranges[i + 1] = Math.max(ranges[i + 1] as number, ranges[i + 3] as number);
      ranges.splice(i + 2, 2);
    }
  }

  /** Intervals in all. */
  get size(): number {
    let n = 0;
    for (const ranges of this.#ranges.values()) n += ranges.length / 2;
    return n;
  }

  /** Ascending by origin, then by seq: the canonical order a digest is signed in. */
  intervals(): VvInterval[] {
    const out: VvInterval[] = [];
    for (const origin of [...this.#ranges.keys()].sort((a, b) => a - b)) {
      const ranges = this.#ranges.get(origin) as number[];
      for (let i = 0; i < ranges.length; i += 2)
        out.push({ origin, from: ranges[i] as number, to: ranges[i + 1] as number });
    }
    return out;
  }

  copy(): VersionVector {
    const vv = new VersionVector();
    for (const [origin, ranges] of this.#ranges) vv.#ranges.set(origin, [...ranges]);
    return vv;
  }

  /** Little-endian: u32 interval count, then per interval u16 origin, u53 from, u53 to (as u32 pairs). */
  encode(): Uint8Array {
    const intervals = this.intervals();
    const bytes = new Uint8Array(4 + intervals.length * 18);
    const dv = new DataView(bytes.buffer);
    dv.setUint32(0, intervals.length, true);
    intervals.forEach((iv, i) => {
      const at = 4 + i * 18;
      dv.setUint16(at, iv.origin, true);
      dv.setUint32(at + 2, iv.from % U32, true);
      dv.setUint32(at + 6, Math.floor(iv.from / U32), true);
      dv.setUint32(at + 10, iv.to % U32, true);
      dv.setUint32(at + 14, Math.floor(iv.to / U32), true);
    });
    return bytes;
  }

  /** The vector `encode` wrote; throws a RangeError naming what is wrong (length, interval). */
  static decode(bytes: Uint8Array): VersionVector {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < 4)
      throw new RangeError(`version vector: ${bytes.byteLength} bytes, shorter than its count`);
    const count = dv.getUint32(0, true);
    if (bytes.byteLength !== 4 + count * 18) {
      throw new RangeError(
        `version vector: ${bytes.byteLength} bytes for ${count} intervals (expected ${4 + count * 18})`,
      );
    }
    const intervals: VvInterval[] = [];
    for (let i = 0; i < count; i++) {
      const at = 4 + i * 18;
      intervals.push({
        origin: dv.getUint16(at, true),
        from: dv.getUint32(at + 2, true) + dv.getUint32(at + 6, true) * U32,
        to: dv.getUint32(at + 10, true) + dv.getUint32(at + 14, true) * U32,
      });
    }
    return VersionVector.fromIntervals(intervals);
  }
}
