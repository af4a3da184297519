import assert from 'node:assert';
import { Doorbell } from './doorbell.js';
import { describeValue, RingError } from './ring-error.js';
import {
  kRingMagicIndex,
  kRingVersionIndex,
  kRingCapacityIndex,
  kRingDoorbellModeIndex,
  kRingDoorbellIdIndex,
  kTailIndex,
  kSpaceWaitingIndex,
  kHeadIndex,
  kRingPublishedStat,
  kRingFullRejectsStat,
  kRingPolledStat,
  kRingDiscardedStat,
  kRingEmbeddedDoorbellOffset,
  kRingHeaderBytes,
  kRingMagic,
  kRingVersion,
  kDoorbellEmbedded,
  kDoorbellExternal,
  kRecordHeaderBytes,
  kRecordAlignBytes,
  kWrapMarker,
  kRingMinCapacityBytes,
  paddedBytes,
  checkCapacity,
  validateHeader,
} from './ring-layout.js';

export { RingError } from './ring-error.js';
export * from './ring-layout.js';

export interface RingStats {
  /** Records made visible by `publish` (producer). */
  published: number;
  /** Records handed to a `poll` handler (consumer). */
  polled: number;
  /** `reserve`/`tryWrite` calls that found no room. */
  fullRejects: number;
  /** Records skipped by `discardAll`. */
  discarded: number;
}

/** Called once per record; `bytes[offset .. offset + length)` is valid only during the call. */
export type RecordHandler = (bytes: Uint8Array, offset: number, length: number) => void;

type WaitAsync = (
  a: Int32Array,
  i: number,
  v: number,
  t?: number,
) => { async: boolean; value: Promise<string> | string };
/** `Atomics.waitAsync` (ES2024; present in Node >= 16, not in our ES2023 lib typings). */
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * A single-producer single-consumer ring of variable-length records over a SharedArrayBuffer.
 * Wait-free on both sides: every call finishes in a bounded number of steps, never spins (except
 * `waitForSpace`, which a producer calls when it chooses to block).
 *
 * Threads: the producer thread calls `reserve`/`commit`/`tryWrite`/`publish`; the consumer
 * thread calls `poll`/`isEmpty`/`discardAll`. Each thread attaches its own `SpscRing` to the
 * same buffer (`new SpscRing(sab, doorbell)`); a restarted thread attaches a fresh one and
 * resumes from the shared indices (a producer from the published tail: whatever it had
 * committed but not published is gone, never half-visible).
 *
 * Ordering: `publish` writes the records, then `Atomics.store`s the tail; `poll`
 * `Atomics.load`s the tail, then reads records up to it, then `Atomics.store`s the head. The
 * producer caches the head and the consumer caches the tail, refreshing them only when the
 * cached value says full (producer) or empty (consumer).
 */
export class SpscRing {
  readonly sab: SharedArrayBuffer;
  readonly doorbell: Doorbell;
  /** The data area: records are written and read at offsets into it. */
  readonly bytes: Uint8Array;
  /** The largest payload; such a record always fits into an empty ring, whatever its position. */
  readonly maxRecordBytes: number;
  readonly capacityBytes: number;

  private readonly header: Int32Array;
  private readonly stat: Float64Array;
  private readonly words: Uint32Array;

  // Producer state (touched only by the producer thread).
  /** Where the next record goes: past every committed record. */
  private writeIndex: number;
  /** The head as last read; the real head is at or after it. */
  private cachedHead: number;
  /** Record offset of the current reservation (a wrap when it differs from writeIndex), or -1. */
  private reservedAt = -1;
  private reservedLength = 0;
  private committedSincePublish = 0;
  private publishedIndex: number;

  // Consumer state (touched only by the consumer thread).
  private readIndex: number;
  /** The tail as last read; the real tail is at or after it. */
  private cachedTail: number;
  private polling = false;

  /** SharedArrayBuffer size for a ring with `capacityBytes` of data. */
  static bytesFor(capacityBytes: number): number {
    checkCapacity(capacityBytes);
    return kRingHeaderBytes + capacityBytes;
  }

  /**
   * A ring on a new SharedArrayBuffer. Without `doorbell`, it gets its own doorbell inside its
   * buffer (attach with `new SpscRing(sab)`); with one, every attach must pass that doorbell.
   */
  static create(capacityBytes: number, doorbell?: Doorbell): SpscRing {
    const sab = new SharedArrayBuffer(SpscRing.bytesFor(capacityBytes));
    const header = new Int32Array(sab, 0, kRingHeaderBytes / 4);
    header[kRingCapacityIndex] = capacityBytes;
    header[kRingVersionIndex] = kRingVersion;
    if (doorbell === undefined) {
      header[kRingDoorbellModeIndex] = kDoorbellEmbedded;
      header[kRingDoorbellIdIndex] = new Doorbell(sab, kRingEmbeddedDoorbellOffset).id;
    } else {
      header[kRingDoorbellModeIndex] = kDoorbellExternal;
      header[kRingDoorbellIdIndex] = doorbell.id;
    }
    Atomics.store(header, kRingMagicIndex, kRingMagic);
    return new SpscRing(sab, doorbell);
  }

  /** Attaches to an existing ring (any thread), validating its header. */
  constructor(sab: SharedArrayBuffer, doorbell?: Doorbell) {
    if (!(sab instanceof SharedArrayBuffer)) {
      throw new RingError(`SpscRing: expected a SharedArrayBuffer, got ${describeValue(sab)}`);
    }
    if (sab.byteLength < kRingHeaderBytes + kRingMinCapacityBytes) {
      throw new RingError(
        `SpscRing: buffer of ${sab.byteLength} bytes is smaller than a ring (header ${kRingHeaderBytes} + ${kRingMinCapacityBytes} bytes)`,
      );
    }
    const header = new Int32Array(sab, 0, kRingHeaderBytes / 4);
    const capacityBytes = validateHeader(header, sab.byteLength);
    this.sab = sab;
    this.doorbell = attachDoorbell(sab, header, doorbell);
    this.capacityBytes = capacityBytes;
    this.maxRecordBytes = capacityBytes / 2 - kRecordHeaderBytes;
    this.header = header;
    this.stat = new Float64Array(sab, 0, kRingHeaderBytes / 8);
    this.bytes = new Uint8Array(sab, kRingHeaderBytes, capacityBytes);
    this.words = new Uint32Array(sab, kRingHeaderBytes, capacityBytes / 4);
    const tail = Atomics.load(header, kTailIndex);
    const head = Atomics.load(header, kHeadIndex);
    this.writeIndex = tail;
    this.publishedIndex = tail;
    this.cachedHead = head;
    this.readIndex = head;
    this.cachedTail = tail;
    assert(this.maxRecordBytes >= 0 && paddedBytes(this.maxRecordBytes) * 2 <= capacityBytes);
  }

  // ---------------------------------------------------------------- producer side

  /**
   * Reserves room for a record of `length` payload bytes and returns the offset in `bytes`
   * where they may be written, or -1 if there is no room now. Calling it again before `commit`
   * replaces the reservation.
   */
  reserve(length: number): number {
    if (length >>> 0 !== length || length > this.maxRecordBytes) this.throwBadLength(length);
    const need = paddedBytes(length);
    let at = this.fit(this.writeIndex, this.cachedHead, need);
    if (at < 0) {
      this.cachedHead = Atomics.load(this.header, kHeadIndex);
      at = this.fit(this.writeIndex, this.cachedHead, need);
      if (at < 0) {
        this.stat[kRingFullRejectsStat]!++;
        this.reservedAt = -1;
        return -1;
      }
    }
    this.reservedAt = at;
    this.reservedLength = length;
    return at + kRecordHeaderBytes;
  }

  /**
   * Where a record of `need` bytes goes when the producer is at `tail` and the consumer at or
   * after `head`: `tail`, 0 (wrap), or -1 (no room). The new tail must not reach `head`.
   */
  private fit(tail: number, head: number, need: number): number {
    if (tail < head) return tail + need < head ? tail : -1;
    const end = tail + need;
    if (end < this.capacityBytes || (end === this.capacityBytes && head !== 0)) return tail;
    return need < head ? 0 : -1;
  }

  /**
   * The reserved record is complete (still not visible until `publish`). `length`, if given,
   * shortens it (e.g. reserve the largest encoding, commit the actual one).
   */
  commit(length?: number): void {
    const at = this.reservedAt;
    if (at < 0)
      throw new RingError(
        'SpscRing.commit: no reservation (call reserve first, and check it is not -1)',
      );
    let committed = this.reservedLength;
    if (length !== undefined) {
      if (length >>> 0 !== length || length > committed) {
        throw new RingError(
          `SpscRing.commit: length must be an integer in [0, ${committed}] (the reserved length), got ${length}`,
        );
      }
      committed = length;
    }
    const words = this.words;
    if (at !== this.writeIndex) words[this.writeIndex >>> 2] = kWrapMarker;
    words[at >>> 2] = committed;
    let next = at + paddedBytes(committed);
    if (next === this.capacityBytes) next = 0;
    this.writeIndex = next;
    this.reservedAt = -1;
    this.committedSincePublish++;
  }

  /** Makes every committed record visible with one `Atomics.store`, then rings the doorbell. */
  publish(): void {
    if (this.writeIndex === this.publishedIndex) return;
    this.publishedIndex = this.writeIndex;
    Atomics.store(this.header, kTailIndex, this.writeIndex);
    this.stat[kRingPublishedStat]! += this.committedSincePublish;
    this.committedSincePublish = 0;
    this.doorbell.ring();
  }

  /** reserve + copy + commit (no publish); false when there is no room now. */
  tryWrite(payload: Uint8Array): boolean {
    const offset = this.reserve(payload.length);
    if (offset < 0) return false;
    this.bytes.set(payload, offset);
    this.commit();
    return true;
  }

  /**
   * Producer: publishes, then blocks this thread (`Atomics.wait` on the head word; not allowed
   * on a browser main thread) until a record of `length` bytes fits or `timeoutMs` passes.
   * Returns whether it fits. The consumer notifies after releasing space only while this flag is
   * set (the same seq-cst handshake as the doorbell), so a waiting producer costs a polling
   * consumer one `Atomics.load` per poll and an idle one nothing.
   */
  waitForSpace(length: number, timeoutMs = Number.POSITIVE_INFINITY): boolean {
    const need = this.spaceNeeded(length);
    const deadlineMs = performance.now() + timeoutMs;
    for (;;) {
      const head = this.announceSpaceWait(need);
      if (head < 0) return true;
      const leftMs = deadlineMs - performance.now();
      if (leftMs > 0) Atomics.wait(this.header, kHeadIndex, head, leftMs);
      Atomics.store(this.header, kSpaceWaitingIndex, 0);
      if (leftMs <= 0) return this.fit(this.writeIndex, this.cachedHead, need) >= 0;
    }
  }

  /** `waitForSpace` for threads that must keep their event loop running (`Atomics.waitAsync`). */
  async waitForSpaceAsync(length: number, timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const need = this.spaceNeeded(length);
    const deadlineMs = performance.now() + timeoutMs;
    const keepAlive = setInterval(() => {}, 2 ** 31 - 1); // a pending waitAsync does not keep Node alive
    try {
      for (;;) {
        const head = this.announceSpaceWait(need);
        if (head < 0) return true;
        const leftMs = deadlineMs - performance.now();
        if (leftMs > 0) await waitAsync(this.header, kHeadIndex, head, leftMs).value;
        Atomics.store(this.header, kSpaceWaitingIndex, 0);
        if (leftMs <= 0) return this.fit(this.writeIndex, this.cachedHead, need) >= 0;
      }
    } finally {
      clearInterval(keepAlive);
    }
  }

  private spaceNeeded(length: number): number {
    if (length >>> 0 !== length || length > this.maxRecordBytes) this.throwBadLength(length);
    this.publish(); // the consumer must see everything before we wait for it
    return paddedBytes(length);
  }

  /** Sets the waiting flag and re-reads the head: -1 (flag cleared) when `need` fits, else the head seen. */
  private announceSpaceWait(need: number): number {
    if (this.fit(this.writeIndex, this.cachedHead, need) >= 0) return -1;
    Atomics.store(this.header, kSpaceWaitingIndex, 1);
    const head = (this.cachedHead = Atomics.load(this.header, kHeadIndex));
    if (this.fit(this.writeIndex, head, need) >= 0) {
      Atomics.store(this.header, kSpaceWaitingIndex, 0);
      return -1;
    }
    return head;
  }

  private throwBadLength(length: number): never {
    if (typeof length === 'number' && Number.isInteger(length) && length > this.maxRecordBytes) {
      throw new RingError(
        `SpscRing: record of ${length} bytes is larger than maxRecordBytes ${this.maxRecordBytes} (ring capacityBytes ${this.capacityBytes})`,
      );
    }
    throw new RingError(
      `SpscRing: record length must be a non-negative integer, got ${String(length)}`,
    );
  }

  // ---------------------------------------------------------------- consumer side

  /**
   * Hands the records visible at the call (one `Atomics.load` of the tail), in order, to
   * `handler` (at most `max` of them), then releases their space with one `Atomics.store`. Returns how many were handled. A record whose handler
   * throws counts as consumed (it is not redelivered); the error propagates.
   */
  poll(handler: RecordHandler, max = Number.POSITIVE_INFINITY): number {
    let head = this.readIndex;
    const tail = (this.cachedTail = Atomics.load(this.header, kTailIndex));
    if (head === tail) return 0;
    if (!(max >= 1)) throw new RingError(`SpscRing.poll: max must be >= 1, got ${max}`);
    if (this.polling) throw new RingError('SpscRing.poll: called from inside a poll handler');
    this.polling = true;
    const words = this.words;
    const bytes = this.bytes;
    const capacityBytes = this.capacityBytes;
    let count = 0;
    try {
      while (head !== tail && count < max) {
        const length = words[head >>> 2]!;
        if (length === kWrapMarker) {
          head = 0;
          continue;
        }
        const offset = head + kRecordHeaderBytes;
        if (length > this.maxRecordBytes || offset + length > capacityBytes)
          this.throwCorrupt(head, length);
        head = offset + ((length + kRecordAlignBytes - 1) & ~(kRecordAlignBytes - 1));
        if (head === capacityBytes) head = 0;
        count++;
        handler(bytes, offset, length);
      }
    } finally {
      this.polling = false;
      this.readIndex = head;
      Atomics.store(this.header, kHeadIndex, head);
      if (Atomics.load(this.header, kSpaceWaitingIndex) !== 0)
        Atomics.notify(this.header, kHeadIndex);
      this.stat[kRingPolledStat]! += count;
    }
    return count;
  }

  /** Consumer: nothing visible. Reads the shared tail (`Atomics.load`) when the cache says empty. */
  isEmpty(): boolean {
    if (this.readIndex !== this.cachedTail) return false;
    this.cachedTail = Atomics.load(this.header, kTailIndex);
    return this.readIndex === this.cachedTail;
  }

  /** Consumer: skips every visible record (e.g. when a crashed actor restarts); returns how many. */
  discardAll(): number {
    const tail = Atomics.load(this.header, kTailIndex);
    let head = this.readIndex;
    let count = 0;
    while (head !== tail) {
      const length = this.words[head >>> 2]!;
      if (length === kWrapMarker) {
        head = 0;
        continue;
      }
      if (length > this.maxRecordBytes) this.throwCorrupt(head, length);
      head += paddedBytes(length);
      if (head === this.capacityBytes) head = 0;
      count++;
    }
    this.readIndex = head;
    this.cachedTail = tail;
    Atomics.store(this.header, kHeadIndex, head);
    if (Atomics.load(this.header, kSpaceWaitingIndex) !== 0)
      Atomics.notify(this.header, kHeadIndex);
    this.stat[kRingDiscardedStat]! += count;
    return count;
  }

  private throwCorrupt(at: number, length: number): never {
    throw new RingError(
      `SpscRing: corrupt record at offset ${at}: length ${length} exceeds maxRecordBytes ${this.maxRecordBytes} or the data area (${this.capacityBytes} bytes)`,
    );
  }

  /**
   * Counters kept in the shared header (so both sides, and a restarted side, see them). They are
   * plain Float64 writes by their owning side: exact on that side, possibly a batch stale elsewhere.
   */
  stats(): RingStats {
    return {
      published: this.stat[kRingPublishedStat]!,
      polled: this.stat[kRingPolledStat]!,
      fullRejects: this.stat[kRingFullRejectsStat]!,
      discarded: this.stat[kRingDiscardedStat]!,
    };
  }
}

function attachDoorbell(
  sab: SharedArrayBuffer,
  header: Int32Array,
  doorbell: Doorbell | undefined,
): Doorbell {
  const mode = header[kRingDoorbellModeIndex];
  const id = header[kRingDoorbellIdIndex];
  if (mode === kDoorbellEmbedded) {
    const own = new Doorbell(sab, kRingEmbeddedDoorbellOffset);
    if (doorbell !== undefined && doorbell.id !== own.id) {
      throw new RingError(
        'SpscRing: this ring was created with its own doorbell; attach without passing one',
      );
    }
    return own;
  }
  if (mode !== kDoorbellExternal)
    throw new RingError(
      `SpscRing: header doorbell mode ${mode} is neither 1 (own) nor 2 (external)`,
    );
  if (doorbell === undefined) {
    throw new RingError(
      `SpscRing: this ring rings an external doorbell (id ${id}); pass that Doorbell to the constructor`,
    );
  }
  if (doorbell.id !== id) {
    throw new RingError(
      `SpscRing: doorbell id ${doorbell.id} is not the ring's doorbell (id ${id})`,
    );
  }
  return doorbell;
}
