/** Each sample lowers the remembered peak by this fraction, so a past burst is forgotten. */
const PEAK_DECAY = 1 / 256;

/**
 * A timeout that follows the latencies a replica observes, never below the configured floor:
 * the larger of TCP's retransmission timeout (RFC 6298: smoothed mean plus four mean
 * deviations) and twice the recent peak. A loaded cluster answers slowly without losing
 * anything: fixed retransmit and replay timeouts then fire on messages that are merely queued,
 * and the extra INVs and replays they send load it further (a congestion collapse; measured:
 * 50% writes on 6 replicas fell to 7k ops/s). Thread scheduling gives latencies a long tail,
 * which the mean and deviation miss: hence the peak.
 */
export class AdaptiveTimeout {
  #smoothedMs = 0;
  #deviationMs = 0;
  #peakMs = 0;
  #samples = 0;

  /** One measured latency (of an exchange that was not retried: Karn's rule). */
  observe(sampleMs: number): void {
    if (!(sampleMs >= 0)) return;
    this.#peakMs = Math.max(sampleMs, this.#peakMs * (1 - PEAK_DECAY));
    if (this.#samples++ === 0) {
      this.#smoothedMs = sampleMs;
      this.#deviationMs = sampleMs / 2;
      return;
    }
    this.#deviationMs += (Math.abs(sampleMs - this.#smoothedMs) - this.#deviationMs) / 4;
    this.#smoothedMs += (sampleMs - this.#smoothedMs) / 8;
  }

  /** The timeout now: at least `floorMs`. */
  timeoutMs(floorMs: number): number {
    return Math.max(floorMs, this.#smoothedMs + 4 * this.#deviationMs, 2 * this.#peakMs);
  }
}
