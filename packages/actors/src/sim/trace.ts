import { CircularBuffer } from 'mnemonist';

/**
 * The record of a simulated run: a rolling 64-bit FNV-1a hash over every event line, plus the
 * last `limit` lines for a failure report. Two runs with the same seed and scenario must produce
 * the same hash.
 */
export class Trace {
  #lo = 0x84222325;
  #hi = 0xcbf29ce4;
  readonly #lines: CircularBuffer<string>;
  #count = 0;

  constructor(readonly limit = 200) {
    this.#lines = new CircularBuffer<string>(Array, Math.max(1, limit));
  }

  add(line: string): void {
    this.#count++;
    let lo = this.#lo;
    let hi = this.#hi;
    for (let i = 0; i < line.length; i++) {
      lo ^= line.charCodeAt(i);
      // Multiply the 64-bit state by the FNV prime 2^40 + 0x1b3, in 32-bit halves.
      const loMul = lo * 0x1b3;
      const carry = Math.floor(loMul / 0x100000000);
      hi = (Math.imul(hi, 0x1b3) + Math.imul(lo, 0x100) + carry) >>> 0;
      lo = loMul >>> 0;
    }
    this.#lo = lo;
    this.#hi = hi;
    if (this.limit > 0) this.#lines.push(line);
  }

  get count(): number {
    return this.#count;
  }

  hash(): string {
    return this.#hi.toString(16).padStart(8, '0') + this.#lo.toString(16).padStart(8, '0');
  }

  /** The most recent lines (at most `limit`). */
  tail(): string[] {
    return this.limit > 0 ? (this.#lines.toArray() as string[]) : [];
  }
}
