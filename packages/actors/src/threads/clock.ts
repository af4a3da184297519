import { performance } from 'node:perf_hooks';

/**
 * Milliseconds since the Unix epoch with microsecond resolution, comparable across worker
 * threads of one process (each thread's `performance.now()` has its own origin).
 */
export function sharedClockMs(): number {
  return performance.timeOrigin + performance.now();
}
