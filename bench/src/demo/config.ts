import type { ActorId } from '@heal/actors';

/**
 * The demo's settings. Kept apart from the runtime code so that `heal` can parse and check
 * flags without loading the actor runtime.
 */

/** Most hops one request may take (the protocol's `hops` field is a u8). */
export const MAX_HOPS = 64;

export interface DemoConfig {
  actors: number;
  clients: number;
  /** Load before the measured window, not counted in rates, latencies or buckets (JIT warm-up). */
  warmupMs: number;
  durationMs: number;
  hops: number;
  /** Requests each client keeps in flight. */
  window: number;
  requestTimeoutMs: number;
  retryMs: number;
  beatMs: number;
  suspectAfterMs: number;
  /** Data capacity of each ring. */
  ringBytes: number;
  bucketMs: number;
  /** The actor crashed at `crashAtFraction` of the run and restarted at `restartAtFraction`. */
  crashActor: ActorId;
  crashAtFraction: number;
  restartAtFraction: number;
}

export const DEMO_DEFAULTS = {
  warmupMs: 500,
  window: 16,
  requestTimeoutMs: 100,
  retryMs: 200,
  beatMs: 10,
  suspectAfterMs: 60,
  ringBytes: 1 << 18,
  bucketMs: 100,
  crashActor: 1,
  crashAtFraction: 0.4,
  restartAtFraction: 0.6,
} as const;
