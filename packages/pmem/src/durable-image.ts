/**
 * `DurableImage`: the durable content of every line of a region (what a power failure keeps),
 * which `crash()` rewrites the file from.
 *
 * Kept copy-on-write where it can be: a new region's image is all zeros and a region opened on
 * a copy of an immutable file (a dataset's image, see `ImageBase`) reads that file's content,
 * both without a copy; a page of lines gets a copy of its own the first time a fence makes one
 * of its lines durable. Six replicas of a million keys started from one image hold that image
 * once and their pages written since, instead of six copies of 342 MB. A region opened on any
 * other file takes a private copy of it, as before.
 *
 * Owned by the region's thread; the shared base is never written.
 */
import assert from 'node:assert/strict';
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { LINE_BYTES } from './geometry.js';
import { mmap } from './mmap.js';

const WORDS_PER_LINE = LINE_BYTES / 4;
/** Lines per copy-on-write page: 4 KiB, an OS page. */
export const DURABLE_PAGE_LINES = 64;
const PAGE_WORDS = DURABLE_PAGE_LINES * WORDS_PER_LINE;
const ZERO_PAGE = new Int32Array(PAGE_WORDS);

/** Runs of at least this many lines are copied with one TypedArray.set, shorter word by word. */
const RUN_COPY_WORDS_MIN = 4 * WORDS_PER_LINE;

/** Copies `from[start, end)` to `to` at `at`. */
function copyWords(from: Int32Array, start: number, end: number, to: Int32Array, at: number): void {
  if (end - start < RUN_COPY_WORDS_MIN) {
    for (let w = start; w < end; w++) to[at + w - start] = from[w] as number;
  } else {
    to.set(from.subarray(start, end), at);
  }
}

/** Where page `p`'s durable words are: `words[at + k]` is the page's word `k`. */
export interface DurablePage {
  readonly words: Int32Array;
  readonly at: number;
}

export class DurableImage {
  /** Words of the whole region: private (written in place) or shared (never written). */
  readonly #base: Int32Array | undefined;
  readonly #shared: boolean;
  /** Pages copied from a shared base or from zeros, by page; none while the base is private. */
  readonly #pages: (Int32Array | undefined)[];
  /** Pages with a copy of their own. */
  #copiedPages = 0;

  private constructor(
    readonly words: number,
    base: Int32Array | undefined,
    shared: boolean,
  ) {
    assert(words % WORDS_PER_LINE === 0, `a durable image holds whole lines, got ${words} words`);
    assert(base === undefined || base.length === words, 'the base covers the region');
    this.#base = base;
    this.#shared = shared;
    this.#pages =
      base !== undefined && !shared
        ? []
        : new Array<Int32Array | undefined>(Math.ceil(words / PAGE_WORDS)).fill(undefined);
  }

  /** A new region's: every line zero. */
  static zeroed(words: number): DurableImage {
    return new DurableImage(words, undefined, true);
  }

  /** A private copy of `words`. */
  static copyOf(words: Int32Array): DurableImage {
    return new DurableImage(words.length, words.slice(), false);
  }

  /** Over `base`, which holds the region's content now and is never written. */
  static over(base: ImageBase): DurableImage {
    return new DurableImage(base.words.length, base.words, true);
  }

  get lineCount(): number {
    return this.words / WORDS_PER_LINE;
  }

  /** Pages that hold a copy of their own (0 for a private copy, which is one block). */
  get copiedPages(): number {
    return this.#copiedPages;
  }

  /** The words of page `p` (`DURABLE_PAGE_LINES` lines; the last page may have fewer). */
  page(p: number): DurablePage {
    const own = this.#pages[p];
    if (own !== undefined) return { words: own, at: 0 };
    if (this.#base !== undefined) return { words: this.#base, at: p * PAGE_WORDS };
    return { words: ZERO_PAGE, at: 0 };
  }

  /** Takes lines `[first, first + count)` of `from` (the region's words) as durable. */
  copyLines(from: Int32Array, first: number, count: number): void {
    assert(from.length === this.words, 'lines come from a region of the same size');
    const start = first * WORDS_PER_LINE;
    const end = start + count * WORDS_PER_LINE;
    if (this.#base !== undefined && !this.#shared) {
      copyWords(from, start, end, this.#base, start);
      return;
    }
    for (let w = start; w < end;) {
      const p = Math.floor(w / PAGE_WORDS);
      const pageEnd = Math.min(end, (p + 1) * PAGE_WORDS);
      copyWords(from, w, pageEnd, this.#own(p), w - p * PAGE_WORDS);
      w = pageEnd;
    }
  }

  /** Page `p`'s own copy, made from the base (or zeros) the first time it is written. */
  #own(p: number): Int32Array {
    let page = this.#pages[p];
    if (page === undefined) {
      page = new Int32Array(PAGE_WORDS);
      if (this.#base !== undefined) {
        const from = p * PAGE_WORDS;
        page.set(this.#base.subarray(from, Math.min(from + PAGE_WORDS, this.words)));
      }
      this.#pages[p] = page;
      this.#copiedPages++;
    }
    return page;
  }
}

/**
 * An immutable file's content, mapped once per process and shared by every region opened on a
 * copy of it (as long as one of them holds it: the cache keeps it only weakly).
 */
export class ImageBase {
  private constructor(
    readonly path: string,
    readonly words: Int32Array,
  ) {}

  static readonly #cache = new Map<string, WeakRef<ImageBase>>();

  /** The content of `path`, which must not change while any region uses it. */
  static of(path: string): ImageBase {
    const { size, mtimeMs } = statSync(path);
    const id = `${path}\0${size}\0${mtimeMs}`;
    const cached = ImageBase.#cache.get(id)?.deref();
    if (cached !== undefined) return cached;
    // Mapped, not read: its pages are the file's page cache, which the regions mapped on
    // copies-on-write of the same image use too. Private: nothing here can change the file.
    const fd = openSync(path, 'r');
    let mapping: ArrayBuffer;
    try {
      const bytes = fstatSync(fd).size;
      if (bytes === 0 || bytes % LINE_BYTES !== 0)
        throw new RangeError(`image ${path}: ${bytes} bytes is not whole lines`);
      mapping = mmap.map(fd, bytes, true);
    } finally {
      closeSync(fd);
    }
    const base = new ImageBase(path, new Int32Array(mapping));
    for (const [key, ref] of ImageBase.#cache)
      if (ref.deref() === undefined) ImageBase.#cache.delete(key);
    ImageBase.#cache.set(id, new WeakRef(base));
    return base;
  }
}
