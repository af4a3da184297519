import { sharedClockMs } from './clock.js';

/**
 * Longest an idle worker parks (`Atomics.wait`) before it yields to its event loop, where
 * control calls arrive. A producer's doorbell ends the park at once.
 */
export const MAX_IDLE_SLICE_MS = 10;

/**
 * The deadlines of one thread's pending timers, so that an idle worker parks until the next
 * one is due instead of waking on a fixed short period (each wake-up costs CPU that busy
 * threads need when there are more threads than cores).
 */
export class TimerDeadlines {
  readonly #atMs = new Map<number, number>();

  add(id: number, delayMs: number): void {
    this.#atMs.set(id, sharedClockMs() + delayMs);
  }

  delete(id: number): void {
    this.#atMs.delete(id);
  }

  clear(): void {
    this.#atMs.clear();
  }

  /** How long the thread may park now. */
  idleSliceMs(): number {
    let next = Infinity;
    for (const at of this.#atMs.values()) if (at < next) next = at;
    return Math.max(0, Math.min(MAX_IDLE_SLICE_MS, next - sharedClockMs()));
  }
}
