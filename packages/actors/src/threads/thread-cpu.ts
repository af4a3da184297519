import { readFileSync } from 'node:fs';

const SCHEDSTAT = '/proc/thread-self/schedstat';

/**
 * CPU time of the calling thread (ms): Linux's per-thread schedstat (its first field is the
 * thread's run time in ns; `process.cpuUsage()` counts every thread of the process). NaN where
 * the file is missing or unreadable.
 */
export function threadCpuMs(): number {
  let text: string;
  try {
    text = readFileSync(SCHEDSTAT, 'latin1');
  } catch {
    return NaN;
  }
  const ns = Number(text.slice(0, text.indexOf(' ')));
  return Number.isFinite(ns) && ns >= 0 ? ns / 1e6 : NaN;
}
