/**
 * `PmemRegion`: emulated persistent memory over a file mapped MAP_SHARED.
 *
 * Stores are written through into the mapping (`view`), so, as with CPU caches on real
 * persistent memory, a process crash loses nothing already stored. What a power failure may
 * keep is decided by flush and fence: `flush(off, len)` marks the covering 64-byte lines
 * (clwb); `fence()` makes every flushed line durable in flush order (sfence). The region keeps
 * the durable content of every line (`durable`, a `DurableImage`, updated at fence), which is
 * what `crash()` rewrites the file from; it is the undo record of every dirty line (a region
 * opened with `crashable: false` keeps none and cannot crash). It costs no copy for a new
 * region, nor for one opened on a copy of an immutable image (`durableBase`), until fences
 * write to it.
 *
 * Durability: `emulated` fences are bookkeeping only (the bytes are already in the file's page
 * cache: they survive a process crash); `msync` fences also msync the touched pages (they
 * survive an OS crash).
 *
 * Ownership: one region belongs to one thread; nothing here is safe to share.
 * Bounds: the flush queue holds each line at most once, so it is bounded by the line count;
 * it starts small and grows, and the flushed lines are a bitset: opening a region allocates
 * O(lines / 32) words, not a word and a byte per line (at 1M keys, 25 MB that a restarted
 * replica took 200 ms to allocate on a loaded machine).
 */
import assert from 'node:assert/strict';
import { closeSync, fstatSync, ftruncateSync, openSync } from 'node:fs';
import { mmap } from './mmap.js';
import { applyCrash, type CrashOptions, type CrashReport } from './crash.js';
import { DurableImage, ImageBase } from './durable-image.js';
import { PmemError, pmemErrors } from './errors.js';
import { LINE_BYTES, LINE_SHIFT, REGION_BYTES_MAX } from './geometry.js';
import {
  LatencyModel,
  latencyConfigProblem,
  OPTANE_LATENCY,
  performanceClock,
  type LatencyConfig,
  type MonotonicClock,
} from './latency-model.js';

export type Durability = 'emulated' | 'msync';
export const DURABILITIES: readonly Durability[] = ['emulated', 'msync'];

export interface RegionOptions {
  /** Default `emulated`. */
  readonly durability?: Durability;
  /** Nanoseconds per flushed line and per fence; defaults `OPTANE_LATENCY`, zeros turn it off. */
  readonly latency?: Partial<LatencyConfig>;
  /** The clock the latency model spins on; default `performance.now()`. */
  readonly clock?: MonotonicClock;
  /**
   * Keep the durable image that `crash()` rewrites the file from (default true). false: no
   * copy of the file at open nor of the flushed lines at each fence, for runs that never
   * simulate a power failure (a process crash loses nothing stored anyway); `crash` and
   * `armCrash` then throw.
   */
  readonly crashable?: boolean;
}

/** What `open` may start the durable image from instead of a copy of the file. */
export interface OpenOptions extends RegionOptions {
  /**
   * An immutable file the region's file is a copy of, unchanged since (a dataset's image):
   * the durable image reads it, shared with every region opened on a copy of it.
   */
  readonly durableBase?: string;
  /**
   * The durable image of the region this file was last crashed from (`crashedImage()`),
   * which equals the file: taken over instead of copying the file.
   */
  readonly durable?: DurableImage;
}

/** Counters since the region was opened. */
export interface RegionStats {
  /** Lines named by flush calls (a line flushed twice counts twice, as two clwb would). */
  linesFlushed: number;
  fences: number;
  /** Bytes made durable by fences (64 per line). */
  bytesDurable: number;
  /** msync calls made by fences (`msync` durability only). */
  msyncCalls: number;
  /** Nanoseconds the latency model added. */
  latencyChargedNs: number;
  /** Flush and fence calls: the points where an armed crash can strike. */
  events: number;
}

/** A crash to strike before a given fence or event (0-based count from when it was armed). */
export interface ArmedCrashOptions extends CrashOptions {
  readonly beforeFence?: number;
  readonly beforeEvent?: number;
}

/** Thrown by flush/fence when an armed crash strikes; the region is then crashed. */
export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
  constructor(readonly report: CrashReport) {
    super(`simulated ${report.mode} crash (seed=${report.seed})`);
  }
}

type RegionState = 'open' | 'closed' | 'crashed';
/** Slots the flush queue starts with (it doubles when full). */
const QUEUE_LINES_INITIAL = 256;

export class PmemRegion {
  /** The mapped file: loads and stores go here. Empty once the region is closed or crashed. */
  readonly view: Buffer;
  private readonly mapping: ArrayBuffer;
  readonly sizeBytes: number;
  readonly lineCount: number;
  private readonly words: Int32Array;
  /** Undefined unless crashable. */
  private readonly durable: DurableImage | undefined;
  /** Bit `line` set: flushed since its last fence (and queued). */
  private readonly flushed: Uint32Array;
  private queue: Uint32Array;
  private queued = 0;
  private readonly latency: LatencyModel;
  private readonly stats_: RegionStats = {
    linesFlushed: 0,
    fences: 0,
    bytesDurable: 0,
    msyncCalls: 0,
    latencyChargedNs: 0,
    events: 0,
  };
  private state: RegionState = 'open';
  /** Set when the region lives in this process only (`openCopyOnWrite`): no file behind it. */
  private readonly inMemory: boolean;
  private armed: { options: ArmedCrashOptions; atEvent: number; atFence: number } | undefined;

  private constructor(
    readonly path: string,
    mapping: ArrayBuffer,
    readonly durability: Durability,
    latency: LatencyModel,
    durable: (words: Int32Array) => DurableImage,
    readonly crashable: boolean,
    inMemory = false,
  ) {
    this.inMemory = inMemory;
    this.mapping = mapping;
    this.view = Buffer.from(mapping);
    this.sizeBytes = mapping.byteLength;
    this.lineCount = mapping.byteLength >>> LINE_SHIFT;
    this.words = new Int32Array(mapping);
    this.durable = crashable ? durable(this.words) : undefined;
    assert(
      this.durable === undefined || this.durable.words === this.words.length,
      `${path}: the durable image covers ${this.durable?.words} words, the region ${this.words.length}`,
    );
    this.flushed = new Uint32Array((this.lineCount + 31) >>> 5);
    this.queue = new Uint32Array(Math.min(this.lineCount, QUEUE_LINES_INITIAL));
    this.latency = latency;
  }

  /** Creates `path` (which must not exist) as a zeroed region of `sizeBytes` and maps it. */
  static create(path: string, sizeBytes: number, options: RegionOptions = {}): PmemRegion {
    if (
      !Number.isSafeInteger(sizeBytes) ||
      sizeBytes <= 0 ||
      sizeBytes % LINE_BYTES !== 0 ||
      sizeBytes > REGION_BYTES_MAX
    ) {
      throw pmemErrors.argument(
        path,
        'sizeBytes',
        `a positive multiple of ${LINE_BYTES} up to ${REGION_BYTES_MAX}`,
        sizeBytes,
      );
    }
    const latency = latencyFrom(path, options);
    const fd = openOrThrow(path, 'wx+');
    try {
      ftruncateSync(fd, sizeBytes);
      return new PmemRegion(
        path,
        mapOrThrow(path, fd, sizeBytes),
        options.durability ?? 'emulated',
        latency,
        // A new file is all zeros: nothing to copy.
        (words) => DurableImage.zeroed(words.length),
        options.crashable ?? true,
      );
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Maps an existing region file; its current content is taken as durable (a copy of it,
   * unless `durableBase` or `durable` says where that content already is).
   */
  static open(path: string, options: OpenOptions = {}): PmemRegion {
    const latency = latencyFrom(path, options);
    const { durableBase, durable } = options;
    const fd = openOrThrow(path, 'r+');
    try {
      const sizeBytes = regionSizeOf(path, fd);
      return new PmemRegion(
        path,
        mapOrThrow(path, fd, sizeBytes),
        options.durability ?? 'emulated',
        latency,
        (words) =>
          durable ??
          (durableBase !== undefined
            ? DurableImage.over(ImageBase.of(durableBase))
            : DurableImage.copyOf(words)),
        options.crashable ?? true,
      );
    } finally {
      closeSync(fd);
    }
  }

  /**
   * A region in this process's memory that starts as immutable file `image`'s content: the
   * image mapped copy-on-write (MAP_PRIVATE), so it shares the image's pages until it stores to
   * them, and its durable image reads the image too. Nothing ever reaches a file: it lives as
   * long as the process (a simulator's medium), `close` discards it, and after `crash()`
   * `reopen()` is the region over the same memory, as opening the file again would be.
   */
  static openCopyOnWrite(image: string, options: RegionOptions = {}): PmemRegion {
    if ((options.durability ?? 'emulated') !== 'emulated') {
      throw pmemErrors.argument(image, 'durability', "'emulated' in memory", options.durability);
    }
    const latency = latencyFrom(image, options);
    const fd = openOrThrow(image, 'r');
    try {
      const sizeBytes = regionSizeOf(image, fd);
      return new PmemRegion(
        image,
        mapOrThrow(image, fd, sizeBytes, true),
        'emulated',
        latency,
        () => DurableImage.over(ImageBase.of(image)),
        options.crashable ?? true,
        true,
      );
    } finally {
      closeSync(fd);
    }
  }

  /**
   * After `crash()` of a region in memory (`openCopyOnWrite`): the region over the same memory,
   * holding what survived, its durable image taken over (the same as opening a crashed file).
   */
  reopen(options: RegionOptions = {}): PmemRegion {
    if (this.state !== 'crashed' || !this.inMemory || this.durable === undefined)
      throw pmemErrors.argument(this.path, 'reopen', 'a crashed region in memory', this.state);
    const durable = this.durable;
    return new PmemRegion(
      this.path,
      this.mapping,
      'emulated',
      latencyFrom(this.path, options),
      () => durable,
      true,
      true,
    );
  }

  /** Marks the lines covering `[offset, offset + lengthBytes)` for the next fence (clwb). */
  flush(offset: number, lengthBytes: number): void {
    this.checkRange(offset, lengthBytes);
    if (this.armed !== undefined) this.strikeIfDue(false);
    this.stats_.events++;
    if (lengthBytes === 0) return;
    const first = offset >>> LINE_SHIFT;
    const last = (offset + lengthBytes - 1) >>> LINE_SHIFT;
    const flushed = this.flushed;
    for (let line = first; line <= last; line++) {
      const bit = 1 << (line & 31);
      const word = line >>> 5;
      if (((flushed[word] as number) & bit) === 0) {
        flushed[word] = (flushed[word] as number) | bit;
        if (this.queued === this.queue.length) this.growQueue();
        this.queue[this.queued++] = line;
      }
    }
    this.stats_.linesFlushed += last - first + 1;
    this.latency.chargeFlush(last - first + 1);
  }

  /** Makes every flushed line durable, in flush order (sfence); msyncs them in `msync` mode. */
  fence(): void {
    if (this.state !== 'open') throw pmemErrors.closed(this.path, this.state);
    if (this.armed !== undefined) this.strikeIfDue(true);
    this.stats_.events++;
    const n = this.queued;
    if (this.durable !== undefined)
      for (let i = 0; i < n;) i = this.makeDurable(i, n, this.durable);
    else for (let i = 0; i < n; i++) this.unflush(this.queue[i] as number);
    if (this.durability === 'msync' && n > 0) this.msyncQueued(n);
    this.queued = 0;
    this.stats_.fences++;
    this.stats_.bytesDurable += n * LINE_BYTES;
    this.stats_.latencyChargedNs += this.latency.payFence();
  }

  /** `flush(offset, lengthBytes)` then `fence()`. */
  persist(offset: number, lengthBytes: number): void {
    this.flush(offset, lengthBytes);
    this.fence();
  }

  /** A copy of the counters. */
  stats(): RegionStats {
    return { ...this.stats_ };
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Throws unless the region is open; structures call it before they store. */
  assertOpen(): void {
    if (this.state !== 'open') throw pmemErrors.closed(this.path, this.state);
  }

  /**
   * Simulates a power failure now: rewrites the file to what survives (see crash.ts) and
   * closes the region. Reopening the file yields exactly that image.
   */
  crash(options: CrashOptions): CrashReport {
    this.assertOpen();
    const durable = this.assertCrashable();
    if (options.mode !== 'strict' && options.mode !== 'adversarial') {
      throw pmemErrors.argument(this.path, 'crash mode', "'strict' or 'adversarial'", options.mode);
    }
    const report = applyCrash(this.words, durable, this.flushed, options);
    if (this.durability === 'msync') this.msyncRange(0, this.sizeBytes);
    this.state = 'crashed';
    this.armed = undefined;
    // In memory, what survived is all there is: `reopen` maps nothing again.
    if (!this.inMemory) mmap.unmap(this.mapping);
    return report;
  }

  /**
   * After `crash()`: the durable image, which now equals the file, for the `durable` option of
   * the `open` that reopens it (only that one: a region writes to the image it takes over).
   */
  crashedImage(): DurableImage {
    if (this.state !== 'crashed' || this.durable === undefined)
      throw pmemErrors.argument(this.path, 'crashedImage', 'a crashed region', this.state);
    return this.durable;
  }

  /**
   * Arms a crash that strikes in place of a later fence (`beforeFence`: that many fences
   * complete first) or flush/fence call (`beforeEvent`); the call then throws SimulatedCrash.
   */
  armCrash(options: ArmedCrashOptions): void {
    this.assertOpen();
    this.assertCrashable();
    const { beforeFence, beforeEvent } = options;
    if ((beforeFence === undefined) === (beforeEvent === undefined)) {
      throw pmemErrors.argument(
        this.path,
        'armCrash options',
        'exactly one of beforeFence, beforeEvent',
        JSON.stringify(options),
      );
    }
    for (const [field, v] of [
      ['beforeFence', beforeFence],
      ['beforeEvent', beforeEvent],
    ] as const) {
      if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) {
        throw pmemErrors.argument(this.path, field, 'an integer >= 0', v);
      }
    }
    this.armed = {
      options,
      atEvent: beforeEvent === undefined ? -1 : this.stats_.events + beforeEvent,
      atFence: beforeFence === undefined ? -1 : this.stats_.fences + beforeFence,
    };
  }

  /** Closes the region and releases its mapping (the file keeps what was stored). */
  close(): void {
    this.state = 'closed';
    this.armed = undefined;
    mmap.unmap(this.mapping);
  }

  /**
   * Copies the queued line at `i`, and the run of consecutive lines queued after it, into the
   * durable image (in flush order); returns the index after the run.
   */
  private makeDurable(i: number, n: number, durable: DurableImage): number {
    const queue = this.queue;
    const first = queue[i] as number;
    let end = i + 1;
    while (end < n && queue[end] === first + (end - i)) end++;
    const lines = end - i;
    durable.copyLines(this.words, first, lines);
    for (let line = first; line < first + lines; line++) this.unflush(line);
    return end;
  }

  private unflush(line: number): void {
    this.flushed[line >>> 5] = (this.flushed[line >>> 5] as number) & ~(1 << (line & 31));
  }

  /** Doubles the queue (it never needs more than a slot per line). */
  private growQueue(): void {
    const grown = new Uint32Array(Math.min(this.lineCount, 2 * this.queue.length));
    grown.set(this.queue);
    this.queue = grown;
  }

  private assertCrashable(): DurableImage {
    if (this.durable === undefined)
      throw pmemErrors.argument(
        this.path,
        'crash',
        'a region opened crashable (it keeps no durable image)',
        'crashable: false',
      );
    return this.durable;
  }

  private strikeIfDue(isFence: boolean): void {
    const armed = this.armed;
    if (armed === undefined) return;
    const due =
      armed.atEvent === this.stats_.events || (isFence && armed.atFence === this.stats_.fences);
    if (!due) return;
    throw new SimulatedCrash(this.crash({ mode: armed.options.mode, seed: armed.options.seed }));
  }

  private checkRange(offset: number, lengthBytes: number): void {
    if (this.state !== 'open') throw pmemErrors.closed(this.path, this.state);
    if (!(
      Number.isInteger(offset) &&
      Number.isInteger(lengthBytes) &&
      offset >= 0 &&
      lengthBytes >= 0 &&
      offset + lengthBytes <= this.sizeBytes
    )) {
      throw pmemErrors.range(this.path, offset, lengthBytes, this.sizeBytes);
    }
  }

  /** msyncs the pages of the first `n` queued lines, coalescing adjacent pages. */
  private msyncQueued(n: number): void {
    const pageShift = Math.log2(mmap.PAGESIZE);
    const pages = new Uint32Array(n);
    for (let i = 0; i < n; i++) pages[i] = ((this.queue[i] as number) << LINE_SHIFT) >>> pageShift;
    pages.sort();
    let start = pages[0] as number;
    let end = start + 1;
    for (let i = 1; i <= n; i++) {
      const page = i < n ? (pages[i] as number) : -1;
      if (page === end - 1) continue;
      if (page === end) {
        end++;
        continue;
      }
      this.msyncRange(
        start << pageShift,
        Math.min(end << pageShift, this.sizeBytes) - (start << pageShift),
      );
      start = page;
      end = page + 1;
    }
  }

  private msyncRange(offset: number, lengthBytes: number): void {
    mmap.sync(this.mapping, offset, lengthBytes);
    this.stats_.msyncCalls++;
  }
}

function latencyFrom(path: string, options: RegionOptions): LatencyModel {
  if (options.durability !== undefined && !DURABILITIES.includes(options.durability)) {
    throw pmemErrors.argument(
      path,
      'durability',
      DURABILITIES.map((d) => `'${d}'`).join(' or '),
      options.durability,
    );
  }
  if (options.crashable !== undefined && typeof options.crashable !== 'boolean') {
    throw pmemErrors.argument(path, 'crashable', 'a boolean', options.crashable);
  }
  const problem = latencyConfigProblem(options.latency ?? {});
  if (problem !== undefined) throw new PmemError('ERR_PMEM_ARGUMENT', path, undefined, problem);
  return new LatencyModel(
    { ...OPTANE_LATENCY, ...options.latency },
    options.clock ?? performanceClock,
  );
}

/** The size of the region file open at `fd`, checked. */
function regionSizeOf(path: string, fd: number): number {
  const sizeBytes = fstatSync(fd).size;
  if (sizeBytes === 0 || sizeBytes % LINE_BYTES !== 0 || sizeBytes > REGION_BYTES_MAX) {
    throw pmemErrors.file(
      path,
      `size ${sizeBytes} bytes is not a region size (a positive multiple of ${LINE_BYTES} up to ${REGION_BYTES_MAX}); truncated or not a region file?`,
    );
  }
  return sizeBytes;
}

function openOrThrow(path: string, flags: string): number {
  try {
    return openSync(path, flags);
  } catch (err) {
    throw pmemErrors.file(path, `cannot open (${flags}): ${(err as Error).message}`);
  }
}

function mapOrThrow(path: string, fd: number, sizeBytes: number, copyOnWrite = false): ArrayBuffer {
  try {
    return mmap.map(fd, sizeBytes, copyOnWrite);
  } catch (err) {
    throw pmemErrors.file(path, `mmap of ${sizeBytes} bytes failed: ${(err as Error).message}`);
  }
}
