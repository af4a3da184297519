import { performance } from 'node:perf_hooks';

/** This thread's time origin: fixed for its lifetime, and a getter call each time it is read. */
const TIME_ORIGIN_MS = performance.timeOrigin;

/**
 * Milliseconds since the Unix epoch with microsecond resolution, comparable across worker
 * threads of one process (each thread's `performance.now()` has its own origin).
 */
export function sharedClockMs(): number {
  return TIME_ORIGIN_MS + performance.now();
}
