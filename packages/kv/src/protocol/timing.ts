/**
 * Every timeout of the protocol, in milliseconds of the runtime's clock. Protocol code reads
 * time only through its context; these say how long it waits.
 */
export interface Timing {
  /** Period of the replica's housekeeping tick. */
  tickMs: number;
  heartbeatMs: number;
  /**
   * Silence after which a member is suspected (and may be dropped from the next view): the
   * floor; a member whose messages come with longer gaps gets more (see FailureDetector).
   */
  suspicionMs: number;
  /** A read lease lasts this long from when it was requested. */
  leaseMs: number;
  leaseRenewMs: number;
  /** Bound on clock drift between replicas during one lease. */
  driftMs: number;
  /** A key left Invalid this long is replayed. */
  replayTimeoutMs: number;
  /** INVs not yet acknowledged are sent again after this long (messages may be lost). */
  retransmitMs: number;
  proposalTimeoutMs: number;
  joinRetryMs: number;
}

/** For the simulator: a virtual millisecond costs nothing, so timeouts can be short. */
export const SIM_TIMING: Timing = {
  tickMs: 1,
  heartbeatMs: 2,
  suspicionMs: 12,
  leaseMs: 10,
  leaseRenewMs: 3,
  driftMs: 1,
  replayTimeoutMs: 15,
  retransmitMs: 5,
  proposalTimeoutMs: 10,
  joinRetryMs: 5,
};

/**
 * For worker threads on a loaded 2-core machine. A crashed replica's worker exits and the
 * runtime tells the others at once (Actor.peerDown): it is removed within a few ticks, and its
 * lease is not waited for. Silence finds the failures nobody sees (a hang, a partition): GC
 * pauses and scheduling delays of a thread among more busy threads than cores reach a few
 * hundred ms here, so the floor is well above a tick and the failure detector raises a member's
 * timeout further when its messages come with longer gaps. A heartbeat goes only to a member
 * that heard nothing else from this replica for heartbeatMs; every tick wakes a parked thread
 * (about 100 us of CPU here), so an idle cluster pays for the short tick.
 */
export const THREAD_TIMING: Timing = {
  tickMs: 5,
  heartbeatMs: 10,
  suspicionMs: 200,
  leaseMs: 60,
  leaseRenewMs: 20,
  driftMs: 2,
  replayTimeoutMs: 100,
  retransmitMs: 50,
  proposalTimeoutMs: 50,
  joinRetryMs: 10,
};

export function validateTiming(t: Timing): Timing {
  for (const [name, value] of Object.entries(t)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(
        `timing.${name} must be a positive number of milliseconds, got ${String(value)}`,
      );
    }
  }
  if (t.leaseRenewMs >= t.leaseMs)
    throw new RangeError(
      `timing.leaseRenewMs (${t.leaseRenewMs}) must be below leaseMs (${t.leaseMs})`,
    );
  if (t.heartbeatMs >= t.suspicionMs) {
    throw new RangeError(
      `timing.heartbeatMs (${t.heartbeatMs}) must be below suspicionMs (${t.suspicionMs})`,
    );
  }
  return t;
}
