/**
 * An index drawn with probability proportional to its weight, in O(1) per draw (Vose's alias
 * method; built in O(n)). Plays the role of std::discrete_distribution in TAOBench's driver.
 */
export class WeightedChoice {
  readonly size: number;
  /** Chance of keeping column i rather than taking its alias, each in [0, 1]. */
  private readonly keep: Float64Array;
  private readonly alias: Int32Array;

  /** `name` is the parameter that the weights come from, for errors. */
  constructor(weights: readonly number[], name: string) {
    const total = weights.reduce((sum, w) => sum + w, 0);
    if (weights.some((w) => !(Number.isFinite(w) && w >= 0)) || !(total > 0)) {
      throw new RangeError(`${name} must be finite non-negative weights with a positive sum`);
    }
    const n = weights.length;
    this.size = n;
    this.keep = new Float64Array(n);
    this.alias = new Int32Array(n);
    const scaled = weights.map((w) => (w * n) / total);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
    for (;;) {
      const s = small.pop();
      const l = large.pop();
      if (s === undefined || l === undefined) {
        // What is left has (up to rounding) probability 1: always keep it.
        for (const i of [s, l, ...small, ...large]) if (i !== undefined) this.keep[i] = 1;
        return;
      }
      this.keep[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      (scaled[l] < 1 ? small : large).push(l);
    }
  }

  /** One uniform draw picks the column (integer part) and the coin (fractional part). */
  sample(random: () => number): number {
    const x = random() * this.size;
    const i = Math.min(Math.floor(x), this.size - 1);
    return x - i < this.keep[i] ? i : this.alias[i];
  }
}
