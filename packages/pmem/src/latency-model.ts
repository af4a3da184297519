/**
 * The latency model: what a flush and a fence would cost on real persistent memory, paid by
 * busy-waiting on a monotonic clock (sleeping cannot resolve nanoseconds). Flushed lines are
 * charged at the next fence, as on hardware where clwb is asynchronous and sfence waits for the
 * write-backs to reach the persistence domain.
 *
 * Defaults, from published Intel Optane DC PMM (first generation, App Direct) measurements:
 * - Izraelevitz et al., "Basic Performance Measurements of the Intel Optane DC Persistent
 *   Memory Module", arXiv:1903.05714 (2019): a single DIMM's maximum write bandwidth is
 *   2.3 GB/s, so each additional 64-byte line written back costs 64 B / 2.3 GB/s = 28 ns.
 * - Same report (section 3, and Yang et al., "An Empirical Guide to the Behavior and Use of
 *   Scalable Persistent Memory", FAST '20, figure 2): the idle latency of making one line
 *   durable with store + clwb + sfence is on the order of 90 ns, close to DRAM, because a write
 *   is durable once it reaches the ADR-protected write pending queue in the memory controller.
 *   We split it as 28 ns for the line plus 62 ns for the fence.
 * Set both to zero to turn the model off.
 */

/** A monotonic clock in nanoseconds; injected so tests can drive time. */
export interface MonotonicClock {
  nowNs(): number;
}

/** `performance.now()` scaled to nanoseconds: monotonic, sub-microsecond resolution on Node. */
export const performanceClock: MonotonicClock = { nowNs: () => performance.now() * 1e6 };

export interface LatencyConfig {
  /** Cost of writing back one flushed 64-byte line, charged at the next fence. */
  readonly flushLineNs: number;
  /** Fixed cost of one fence (sfence with the write-backs drained). */
  readonly fenceNs: number;
}

/** Optane DC PMM defaults; see the sources above. */
export const OPTANE_LATENCY: LatencyConfig = Object.freeze({ flushLineNs: 28, fenceNs: 62 });
/** The model turned off: flush and fence cost only what the emulation itself costs. */
export const LATENCY_OFF: LatencyConfig = Object.freeze({ flushLineNs: 0, fenceNs: 0 });

/** Owned by one region; touched only by the thread that owns the region. */
export class LatencyModel {
  private pendingNs = 0;
  /** Total nanoseconds charged so far (what the model added, not what the spin measured). */
  chargedNs = 0;
  readonly enabled: boolean;

  /**
   * What one clock read costs (measured for the default clock, 0 for an injected one). A
   * spin ends one read after its deadline, so deadlines are brought forward by 1.5 reads to
   * make the expected cost the modelled one; the model is accurate to about one clock read.
   */
  readonly clockReadNs: number;

  constructor(
    readonly config: LatencyConfig,
    private readonly clock: MonotonicClock = performanceClock,
  ) {
    this.enabled = config.flushLineNs > 0 || config.fenceNs > 0;
    this.clockReadNs = this.enabled && clock === performanceClock ? measureClockReadNs(clock) : 0;
  }

  /** Records the cost of `lines` flushed lines; it is paid at the next fence. */
  chargeFlush(lines: number): void {
    this.pendingNs += lines * this.config.flushLineNs;
  }

  /** Pays the pending flush cost plus one fence by spinning on the clock; returns the charge. */
  payFence(): number {
    const ns = this.pendingNs + this.config.fenceNs;
    this.pendingNs = 0;
    if (ns <= 0) return 0;
    this.chargedNs += ns;
    const until = this.clock.nowNs() + ns - 1.5 * this.clockReadNs;
    while (this.clock.nowNs() < until) {
      // Busy-wait: the modelled device is busy; the thread does not yield.
    }
    return ns;
  }
}

/** The smallest gap between back-to-back reads over a few samples (CLOCK_SAMPLES). */
const CLOCK_SAMPLES = 64;
function measureClockReadNs(clock: MonotonicClock): number {
  let best = Number.POSITIVE_INFINITY;
  let prev = clock.nowNs();
  for (let i = 0; i < CLOCK_SAMPLES; i++) {
    const now = clock.nowNs();
    if (now - prev > 0 && now - prev < best) best = now - prev;
    prev = now;
  }
  return Number.isFinite(best) ? best : 0;
}

/** Checks a latency config at the edge, naming the bad field. */
export function latencyConfigProblem(config: Partial<LatencyConfig>): string | undefined {
  for (const field of ['flushLineNs', 'fenceNs'] as const) {
    const v = config[field];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) {
      return `latency.${field} must be a finite number >= 0, got ${String(v)}`;
    }
  }
  return undefined;
}
