import { openSync, readSync } from 'node:fs';

const SCHEDSTAT = '/proc/thread-self/schedstat';
/** Its first field (ns) fits in 20 digits; the line is three numbers. */
const BUFFER_BYTES = 64;

/** This thread's schedstat, opened once: /proc/thread-self names the thread that opens it. */
let fd: number | undefined;
const buffer = Buffer.alloc(BUFFER_BYTES);

function open(): number {
  try {
    return openSync(SCHEDSTAT, 'r');
  } catch {
    return -1;
  }
}

/**
 * Opens the calling thread's schedstat now, off the path that later reads it (opening a /proc
 * file in a restarted worker cost 5-8 ms of its start on this machine; a read costs a pread).
 */
export function prepareThreadCpu(): void {
  fd ??= open();
}

/**
 * CPU time of the calling thread (ms): Linux's per-thread schedstat (its first field is the
 * thread's run time in ns; `process.cpuUsage()` counts every thread of the process). The kernel
 * brings it up to date at scheduler ticks and switches, so a reading lags by up to a tick (1-10
 * ms): a difference of two is off by up to a tick either way (Node 20 has no
 * CLOCK_THREAD_CPUTIME_ID). NaN where the file is missing or unreadable. Every call must come
 * from the thread that called first.
 */
export function threadCpuMs(): number {
  prepareThreadCpu();
  if (fd === undefined || fd < 0) return NaN;
  let n: number;
  try {
    n = readSync(fd, buffer, 0, BUFFER_BYTES, 0);
  } catch {
    return NaN;
  }
  const text = buffer.toString('latin1', 0, n);
  const ns = Number(text.slice(0, text.indexOf(' ')));
  return Number.isFinite(ns) && ns >= 0 ? ns / 1e6 : NaN;
}
