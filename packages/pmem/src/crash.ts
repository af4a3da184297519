/**
 * Simulated power failure: computes what survives of a region and writes it into the file.
 *
 * Fault model (what a power failure may do to a region):
 * - A line that was flushed and then fenced, and not stored to since, survives as fenced.
 * - `strict`: nothing else survives; every other line reverts to its last fenced content.
 * - `adversarial`: each line that differs from its fenced content, whether flushed-but-unfenced
 *   or only dirty (a cache may evict it early at any time), independently either survives
 *   whole, reverts whole, or tears: each aligned 8-byte word of it survives or reverts on its
 *   own. Words never tear (8-byte failure atomicity, as on x86 with ADR).
 * - Nothing else changes: no bit flips, no lost fenced lines (those are the corrupt-file tests).
 * The choices come from a seeded PRNG, so the same seed yields the same image.
 */
import { Prng } from '@heal/base';
import { LINE_BYTES } from './geometry.js';

export type CrashMode = 'strict' | 'adversarial';

export interface CrashOptions {
  readonly mode: CrashMode;
  /** Seeds the choices of `adversarial` mode; recorded in the report. */
  readonly seed: number;
}

/** What the crash kept and dropped, by line; `seed` replays it. */
export interface CrashReport {
  mode: CrashMode;
  seed: number;
  /** Lines flushed but not fenced: kept whole, dropped, torn. */
  flushedKept: number;
  flushedDropped: number;
  flushedTorn: number;
  /** Lines stored to but not flushed: kept whole, dropped, torn. */
  dirtyKept: number;
  dirtyDropped: number;
  dirtyTorn: number;
}

const WORDS_PER_LINE = LINE_BYTES / 4; // Int32 words
const KEEP = 0;
const DROP = 1;

/**
 * Rewrites `current` (the mapped file) into the image a power failure leaves, given `durable`
 * (the fenced content of every line) and `flushed` (bit `line` set for lines flushed since
 * their last fence). Both views cover the whole region, 4-byte aligned.
 */
export function applyCrash(
  current: Int32Array,
  durable: Int32Array,
  flushed: Uint32Array,
  options: CrashOptions,
): CrashReport {
  const report: CrashReport = {
    mode: options.mode,
    seed: options.seed,
    flushedKept: 0,
    flushedDropped: 0,
    flushedTorn: 0,
    dirtyKept: 0,
    dirtyDropped: 0,
    dirtyTorn: 0,
  };
  const random = new Prng(options.seed);
  const lines = current.length / WORDS_PER_LINE;
  for (let line = 0; line < lines; line++) {
    const base = line * WORDS_PER_LINE;
    if (sameLine(current, durable, base)) continue;
    const wasFlushed = (((flushed[line >>> 5] as number) >>> (line & 31)) & 1) === 1;
    const choice = options.mode === 'strict' ? DROP : random.int(3);
    if (choice === KEEP) {
      if (wasFlushed) report.flushedKept++;
      else report.dirtyKept++;
    } else if (choice === DROP) {
      current.set(durable.subarray(base, base + WORDS_PER_LINE), base);
      if (wasFlushed) report.flushedDropped++;
      else report.dirtyDropped++;
    } else {
      tearLine(current, durable, base, random);
      if (wasFlushed) report.flushedTorn++;
      else report.dirtyTorn++;
    }
  }
  return report;
}

function sameLine(a: Int32Array, b: Int32Array, base: number): boolean {
  for (let i = base; i < base + WORDS_PER_LINE; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Reverts a random subset of the line's 8-byte words (two Int32 each). */
function tearLine(current: Int32Array, durable: Int32Array, base: number, random: Prng): void {
  for (let w = base; w < base + WORDS_PER_LINE; w += 2) {
    if (random.int(2) === 0) continue;
    current[w] = durable[w] as number;
    current[w + 1] = durable[w + 1] as number;
  }
}
