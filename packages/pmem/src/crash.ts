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
import assert from 'node:assert/strict';
import { Prng } from '@heal/base';
import { DURABLE_PAGE_LINES, type DurableImage } from './durable-image.js';
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
 * their last fence), and makes `durable` that image too (a line kept or torn is durable now),
 * so that a region reopened on the file can take it over instead of copying the file.
 */
export function applyCrash(
  current: Int32Array,
  durable: DurableImage,
  flushed: Uint32Array,
  options: CrashOptions,
): CrashReport {
  assert(current.length === durable.words, 'the durable image covers the region');
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
  for (let first = 0, p = 0; first < lines; first += DURABLE_PAGE_LINES, p++) {
    // The page's durable words as they were before this crash: a kept or torn line is copied
    // into the image below, which may give the page a copy of its own, equal to this one.
    const { words: d, at } = durable.page(p);
    const end = Math.min(lines, first + DURABLE_PAGE_LINES);
    for (let line = first; line < end; line++) {
      const base = line * WORDS_PER_LINE;
      const from = at + base - first * WORDS_PER_LINE;
      if (sameLine(current, base, d, from)) continue;
      const wasFlushed = (((flushed[line >>> 5] as number) >>> (line & 31)) & 1) === 1;
      const choice = options.mode === 'strict' ? DROP : random.int(3);
      if (choice === KEEP) {
        if (wasFlushed) report.flushedKept++;
        else report.dirtyKept++;
        durable.copyLines(current, line, 1);
      } else if (choice === DROP) {
        current.set(d.subarray(from, from + WORDS_PER_LINE), base);
        if (wasFlushed) report.flushedDropped++;
        else report.dirtyDropped++;
      } else {
        tearLine(current, base, d, from, random);
        durable.copyLines(current, line, 1);
        if (wasFlushed) report.flushedTorn++;
        else report.dirtyTorn++;
      }
    }
  }
  return report;
}

function sameLine(a: Int32Array, at: number, b: Int32Array, from: number): boolean {
  for (let i = 0; i < WORDS_PER_LINE; i++) if (a[at + i] !== b[from + i]) return false;
  return true;
}

/** Reverts a random subset of the line's 8-byte words (two Int32 each) to `durable`'s. */
function tearLine(
  current: Int32Array,
  base: number,
  durable: Int32Array,
  from: number,
  random: Prng,
): void {
  for (let w = 0; w < WORDS_PER_LINE; w += 2) {
    if (random.int(2) === 0) continue;
    current[base + w] = durable[from + w] as number;
    current[base + w + 1] = durable[from + w + 1] as number;
  }
}
