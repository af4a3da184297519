/*
 * What the `heal bench ring` harness (main thread) and its worker threads share: the control
 * words, the worker parameters, and the bounds of every window.
 *
 * Each case runs two worker threads: a driver (producer or client) and a peer (consumer, echo
 * or callee). The main thread only orchestrates: it stores a batch size, bumps kGoIndex, and
 * waits on kDoneIndex; the data moves worker to worker.
 */
import type { MessagePort } from 'node:worker_threads';

export const TRANSPORTS = ['ring', 'postMessage', 'comlink'] as const;
export type Transport = (typeof TRANSPORTS)[number];
export const DIRECTIONS = ['one-way', 'round-trip'] as const;
export type Direction = (typeof DIRECTIONS)[number];
export const MESSAGE_BYTES = [32, 256, 4096] as const;

/** Int32 indices of the control words. */
export const kGoIndex = 0; // bumped by main: run one batch of kBatchIndex messages
export const kBatchIndex = 1; // messages in the current batch
export const kTargetIndex = 2; // messages the one-way receiver must have seen when the batch ends
export const kDoneIndex = 3; // bumped by whichever worker sees the batch end
export const kReadyIndex = 4; // each worker adds 1 once it is attached
export const kControlWords = 16;

/** Round trips: requests in flight at once, for every transport. */
export const ROUND_TRIP_WINDOW = 64;
/** postMessage / comlink one-way: messages sent and not yet acknowledged, at most. */
export const ONE_WAY_WINDOW = 1024;
/** postMessage one-way: the consumer acknowledges every this many messages. */
export const ONE_WAY_CREDIT_EVERY = 256;
/** Ring producers publish after this many records (and when the ring is full). */
export const RING_PUBLISH_EVERY = 32;
/** Empty polls a ring consumer spins through before it sleeps on its doorbell. */
export const RING_SPIN_POLLS = 20_000;

/** Data capacity of each ring: room for two round-trip windows, at least 64 KiB. */
export function ringCapacityFor(messageBytes: number): number {
  let capacity = 64 * 1024;
  while (capacity < 2 * ROUND_TRIP_WINDOW * (messageBytes + 8)) capacity *= 2;
  return capacity;
}

export interface BenchWorkerData {
  transport: Transport;
  direction: Direction;
  role: 'driver' | 'peer';
  messageBytes: number;
  controlSab: SharedArrayBuffer;
  /** ring: driver -> peer. */
  forwardRing?: SharedArrayBuffer;
  /** ring round trip: peer -> driver. */
  backwardRing?: SharedArrayBuffer;
  /** postMessage / comlink: this worker's end of a MessageChannel. */
  port?: MessagePort;
}

type WaitAsync = (
  a: Int32Array,
  i: number,
  v: number,
  t?: number,
) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * Resolves once `control[index]` differs from `seen` (no timers as synchronisation: a futex
 * wait). Holds a ref'd timer meanwhile, as a pending `Atomics.waitAsync` does not keep Node alive.
 */
export async function changed(control: Int32Array, index: number, seen: number): Promise<number> {
  let value = Atomics.load(control, index);
  if (value !== seen) return value;
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  try {
    while (value === seen) {
      await waitAsync(control, index, seen).value;
      value = Atomics.load(control, index);
    }
  } finally {
    clearInterval(keepAlive);
  }
  return value;
}

/** Bumps `control[index]` and wakes its waiters. */
export function bump(control: Int32Array, index: number): void {
  Atomics.add(control, index, 1);
  Atomics.notify(control, index);
}
