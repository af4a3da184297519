import { Fnv1a64 } from '@heal/base';
import { createRequire } from 'node:module';
// Its typings' default export stands for the CommonJS module; `.default` is the class.
import type CircularBufferModule from 'mnemonist/circular-buffer.js';

// mnemonist's subpaths are CommonJS only (a `require` condition); its ES root would load every
// one of its ~50 structures (about 200 ms), so the one used here is required alone.
const CircularBuffer = createRequire(import.meta.url)(
  'mnemonist/circular-buffer.js',
) as typeof CircularBufferModule.default;
type CircularBuffer<T> = CircularBufferModule.default<T>;

/**
 * The record of a simulated run: a rolling 64-bit FNV-1a hash over every event line, plus the
 * last `limit` lines for a failure report. Two runs with the same seed and scenario must produce
 * the same hash.
 */
export class Trace {
  readonly #hash = new Fnv1a64();
  readonly #lines: CircularBuffer<string>;
  #count = 0;

  constructor(readonly limit = 200) {
    this.#lines = new CircularBuffer<string>(Array, Math.max(1, limit));
  }

  add(line: string): void {
    this.#count++;
    this.#hash.addString(line);
    if (this.limit > 0) this.#lines.push(line);
  }

  get count(): number {
    return this.#count;
  }

  hash(): string {
    return this.#hash.hex();
  }

  /** The most recent lines (at most `limit`). */
  tail(): string[] {
    return this.limit > 0 ? (this.#lines.toArray() as string[]) : [];
  }
}
