/** Origins are replica ids: 0..this. */
export const ORIGIN_MAX = 0xffff;

/** A write number: the `seq`-th write of replica `origin`; seq 0 marks a preloaded record. */
export interface VvEntry {
  readonly origin: number;
  readonly seq: number;
}

function checkEntry(entry: VvEntry, position: number): void {
  const { origin, seq } = entry;
  const where = () => `version vector entry ${position} ${JSON.stringify({ origin, seq })}`;
  if (!Number.isInteger(origin) || origin < 0 || origin > ORIGIN_MAX) {
    throw new RangeError(`${where()}: origin must be an integer in 0..${ORIGIN_MAX}`);
  }
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new RangeError(`${where()}: seq must be a safe integer >= 0`);
  }
}

/**
 * Per-origin watermarks (DESIGN section 5, Digests): watermark `s` for origin `c` claims that the
 * holder has every write of `c` numbered 1..s (or a newer write of the same key). A sender may
 * skip exactly the writes it `covers`; so a watermark must never claim more than is held, and a
 * gap in what is held stops it. Origins with watermark 0 are not stored: it claims nothing.
 */
export class VersionVector {
  readonly #watermarks = new Map<number, number>();

  /**
   * The vector of a holder of `entries`: for each origin the largest s such that all of 1..s are
   * held (so seq 0, a preloaded record without a write number, never counts). A write superseded
   * at the holder by a newer one of its key is not held, so it is a gap: the vector claims less.
   */
  static fromHeld(entries: Iterable<VvEntry>): VersionVector {
    const held = new Map<number, Set<number>>();
    let position = 0;
    for (const entry of entries) {
      checkEntry(entry, position++);
      let seqs = held.get(entry.origin);
      if (seqs === undefined) held.set(entry.origin, (seqs = new Set()));
      seqs.add(entry.seq);
    }
    const vv = new VersionVector();
    for (const [origin, seqs] of held) {
      let watermark = 0;
      while (seqs.has(watermark + 1)) watermark++;
      if (watermark > 0) vv.#watermarks.set(origin, watermark);
    }
    return vv;
  }

  /** A vector received as `entries()`; throws a RangeError naming the first bad entry. */
  static fromEntries(entries: Iterable<VvEntry>): VersionVector {
    const vv = new VersionVector();
    const seen = new Set<number>();
    let position = 0;
    for (const entry of entries) {
      checkEntry(entry, position);
      if (seen.has(entry.origin)) {
        throw new RangeError(`version vector entry ${position} repeats origin ${entry.origin}`);
      }
      seen.add(entry.origin);
      if (entry.seq > 0) vv.#watermarks.set(entry.origin, entry.seq);
      position++;
    }
    return vv;
  }

  /** The watermark of `origin` (0: nothing claimed). */
  get(origin: number): number {
    return this.#watermarks.get(origin) ?? 0;
  }

  /**
   * Whether the holder provably has write `seq` of `origin`. Seq 0 is never covered: a preloaded
   * record has no write number, so the vector says nothing about it.
   */
  covers(origin: number, seq: number): boolean {
    return seq >= 1 && seq <= this.get(origin);
  }

  /** Raises each watermark to `other`'s where that is higher. */
  mergeMax(other: VersionVector): void {
    for (const [origin, seq] of other.#watermarks) {
      if (seq > this.get(origin)) this.#watermarks.set(origin, seq);
    }
  }

  /** The positive watermarks, ascending by origin (the canonical order digests are signed in). */
  entries(): VvEntry[] {
    return [...this.#watermarks]
      .map(([origin, seq]) => ({ origin, seq }))
      .sort((a, b) => a.origin - b.origin);
  }
}
