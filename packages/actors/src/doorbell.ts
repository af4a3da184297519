import assert from 'node:assert';
import { describeValue, RingError } from './ring-error.js';

/*
 * Layout of a doorbell: 64 bytes (one cache line) of Int32 words at `byteOffset` in a
 * SharedArrayBuffer. Owner: the consumer thread sets `kSleepingIndex`; every producer that
 * publishes into one of the consumer's rings reads it, and the one that clears it bumps
 * `kSequenceIndex`.
 */
/**
 * 1 while the consumer is (about to be) parked in `wait` and nobody has rung since, else 0. Set
 * by the consumer; cleared by the consumer when it wakes, or by the one producer that rings it.
 */
export const kDoorbellSleepingIndex = 0;
/** Bumped by the producer that cleared `sleeping`; the consumer parks on this word. */
export const kDoorbellSequenceIndex = 1;
/** `kDoorbellMagic` once initialised; 0 in fresh memory. */
export const kDoorbellMagicIndex = 2;
/** A per-doorbell identity, so a ring can check it is attached to the doorbell it was made with. */
export const kDoorbellIdIndex = 3;
export const kDoorbellMagic = 0x44624c31; // 'DbL1'
/** `setInterval` period that keeps the event loop alive while parked (the largest timer). */
const kKeepAliveMs = 2 ** 31 - 1;

type WaitAsyncResult = { async: false; value: string } | { async: true; value: Promise<string> };
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeoutMs?: number,
) => WaitAsyncResult;
/** `Atomics.waitAsync` (ES2024; present in Node >= 16, not in our ES2023 lib typings). */
const waitAsync: WaitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

let nextLocalId = 1;

/**
 * Wakes a sleeping consumer. One Doorbell per consumer thread, shared by every ring into it.
 *
 * Protocol (a seq-cst Dekker handshake, so no wake-up is lost):
 * - producer: `Atomics.store(tail)` (in `SpscRing.publish`), then `ring()`: `Atomics.load(sleeping)`;
 *   only if it is set, `Atomics.compareExchange(sleeping, 1, 0)`, and only if that cleared it,
 *   `Atomics.add(sequence)` and `Atomics.notify(sequence)`.
 * - consumer (`wait`): read `sequence`, `Atomics.store(sleeping, 1)`, then `isEmpty()` (which
 *   `Atomics.load`s every ring's tail), then `Atomics.waitAsync(sequence, seenSequence)`; once
 *   awake, `Atomics.store(sleeping, 0)`, then it polls every ring.
 * A producer that clears `sleeping` bumps `sequence` after the consumer read it, so the wait
 * returns at once or is notified. A producer that finds it clear read a 0 that comes, in the
 * flag's single modification order, before the consumer's next `store(sleeping, 1)`: the 0 of
 * the consumer's last wake-up, or of another producer's clear, which wakes it. Either way the
 * consumer's next poll or `isEmpty()` comes after that 0 and sees this producer's tail.
 * So one producer per sleep bumps and notifies (`Atomics.notify` takes a process-wide lock in
 * V8): with more threads than cores a woken consumer often waits for a core while others publish
 * to it, and in bench kv (6 replicas) about 3 of 4 notifies used to find nobody waiting.
 *
 * Note: a pending `Atomics.waitAsync` does not keep a Node event loop alive; `wait` holds a
 * ref'd timer while parked so that a worker whose only work is this wait does not exit.
 */
export class Doorbell {
  /** Bytes a doorbell occupies in a SharedArrayBuffer (one cache line). */
  static readonly BYTES: number = 64;

  readonly sab: SharedArrayBuffer;
  readonly byteOffset: number;
  private readonly words: Int32Array;
  /** Set while this handle has a `wait` in progress (one consumer per doorbell). */
  private waiting = false;

  /** A doorbell on its own new SharedArrayBuffer. */
  static create(): Doorbell {
    return new Doorbell(new SharedArrayBuffer(Doorbell.BYTES), 0);
  }

  /**
   * Attaches to the doorbell at `byteOffset` in `sab` (any thread). Zeroed memory is initialised
   * on first attach (atomically, so two threads attaching at once agree on its identity).
   */
  constructor(sab: SharedArrayBuffer, byteOffset = 0) {
    if (!(sab instanceof SharedArrayBuffer)) {
      throw new RingError(`Doorbell: expected a SharedArrayBuffer, got ${describeValue(sab)}`);
    }
    if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset % 4 !== 0) {
      throw new RingError(
        `Doorbell: byteOffset must be a non-negative multiple of 4, got ${byteOffset}`,
      );
    }
    if (byteOffset + Doorbell.BYTES > sab.byteLength) {
      throw new RingError(
        `Doorbell: byteOffset ${byteOffset} + BYTES ${Doorbell.BYTES} exceeds the buffer's ${sab.byteLength} bytes`,
      );
    }
    this.sab = sab;
    this.byteOffset = byteOffset;
    this.words = new Int32Array(sab, byteOffset, Doorbell.BYTES / 4);
    const magic = Atomics.load(this.words, kDoorbellMagicIndex);
    if (magic === 0) {
      // Identity: a process-unique counter mixed with randomness (it only has to differ between
      // the doorbells a ring could be confused with).
      const id = ((Math.random() * 0x7fffffff) ^ (nextLocalId++ << 20)) | 1;
      if (Atomics.compareExchange(this.words, kDoorbellIdIndex, 0, id) === 0) {
        Atomics.store(this.words, kDoorbellMagicIndex, kDoorbellMagic);
      }
    } else if (magic !== kDoorbellMagic) {
      throw new RingError(
        `Doorbell: bad magic 0x${(magic >>> 0).toString(16)} at byteOffset ${byteOffset} (not a doorbell)`,
      );
    }
    assert(Atomics.load(this.words, kDoorbellIdIndex) !== 0);
  }

  /** This doorbell's identity (the same from every thread attached to it). */
  get id(): number {
    return Atomics.load(this.words, kDoorbellIdIndex);
  }

  /** Whether the consumer has announced that it is going to sleep (or sleeps), and nobody rang since. Any thread. */
  isSleeping(): boolean {
    return Atomics.load(this.words, kDoorbellSleepingIndex) !== 0;
  }

  /**
   * Producer, after publishing: wakes the consumer if it sleeps and nobody has rung since it
   * went to sleep. Costs one `Atomics.load` otherwise (a compare-exchange on every publish would
   * take the line away from the consumer each time).
   */
  ring(): void {
    const words = this.words;
    if (Atomics.load(words, kDoorbellSleepingIndex) === 0) return;
    if (Atomics.compareExchange(words, kDoorbellSleepingIndex, 1, 0) !== 1) return;
    Atomics.add(words, kDoorbellSequenceIndex, 1);
    Atomics.notify(words, kDoorbellSequenceIndex);
  }

  /**
   * Consumer: announces sleeping, re-checks `isEmpty()` (which must look at all the consumer's
   * rings with `Atomics.load`, as `SpscRing.isEmpty` does), then parks until a producer rings or
   * `timeoutMs` passes. Resolves at once when `isEmpty()` is false. One wait at a time.
   */
  wait(isEmpty: () => boolean, timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    if (!(timeoutMs >= 0))
      throw new RingError(`Doorbell.wait: timeoutMs must be >= 0, got ${timeoutMs}`);
    assert(
      !this.waiting,
      'Doorbell.wait: a wait is already in progress (one consumer per doorbell)',
    );
    const words = this.words;
    const seenSequence = Atomics.load(words, kDoorbellSequenceIndex);
    Atomics.store(words, kDoorbellSleepingIndex, 1);
    let result: WaitAsyncResult;
    try {
      if (!isEmpty()) {
        Atomics.store(words, kDoorbellSleepingIndex, 0);
        return Promise.resolve();
      }
      result = waitAsync(words, kDoorbellSequenceIndex, seenSequence, timeoutMs);
    } catch (err) {
      Atomics.store(words, kDoorbellSleepingIndex, 0);
      throw err;
    }
    if (!result.async) {
      // 'not-equal' (rung between our read and the park) or 'timed-out' (timeoutMs 0).
      Atomics.store(words, kDoorbellSleepingIndex, 0);
      return Promise.resolve();
    }
    this.waiting = true;
    const keepAlive = setInterval(noop, kKeepAliveMs);
    return result.value.then(() => {
      clearInterval(keepAlive);
      this.waiting = false;
      Atomics.store(words, kDoorbellSleepingIndex, 0);
    });
  }
  /**
   * Consumer, in a worker thread: like `wait`, but parks the thread itself (`Atomics.wait`) for
   * at most `timeoutMs`. A futex wake-up takes microseconds where an `Atomics.waitAsync`
   * resolution waits for the event loop to notice it (often milliseconds on a loaded machine),
   * so a worker that sleeps in short slices, yielding to its event loop between them for
   * timers and control messages, answers far sooner. Not for a main thread that serves others.
   * Returns false when the park ran out its time, true when it was rung (or never began).
   */
  waitSync(isEmpty: () => boolean, timeoutMs: number): boolean {
    if (!(timeoutMs >= 0))
      throw new RingError(`Doorbell.waitSync: timeoutMs must be >= 0, got ${timeoutMs}`);
    const words = this.words;
    const seenSequence = Atomics.load(words, kDoorbellSequenceIndex);
    Atomics.store(words, kDoorbellSleepingIndex, 1);
    try {
      return (
        !isEmpty() ||
        Atomics.wait(words, kDoorbellSequenceIndex, seenSequence, timeoutMs) !== 'timed-out'
      );
    } finally {
      Atomics.store(words, kDoorbellSleepingIndex, 0);
    }
  }
}

function noop(): void {}
