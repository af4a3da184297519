import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';

/** A peer's longest recent silence is remembered with this half-life: a burst is forgotten slowly. */
export const SILENCE_PEAK_HALF_LIFE_MS = 10_000;
/** A peer is suspected after this many times its longest recent silence (never before the floor). */
export const SUSPICION_PEAK_FACTOR = 2;
/**
 * Silences are counted up to this many floors: a replica partitioned for seconds and back must
 * not make its next crash take as long to notice.
 */
export const COUNTED_SILENCE_MAX_FLOORS = 8;

/**
 * Failure detection of one replica (ARCHITECTURE.md §4). A member is suspected once it
 * has been silent for longer than its timeout: the configured floor, or SUSPICION_PEAK_FACTOR
 * times the longest silence this replica recently observed from it, whichever is longer. On a
 * loaded machine scheduling delays and GC pauses make gaps of tens of milliseconds that are not
 * failures; the timeout follows them. Silence only counts while this replica hears the others:
 * a replica whose own thread stalled hears nobody, and suspects nobody for that. The caller
 * reports only messages the member sends as a member (not a restarted incarnation's).
 *
 * Owned by the replica's thread; times are the replica's clock.
 */
export class FailureDetector {
  /** By replica id: the last receipt, or when its clock (re)started. */
  readonly #lastHeard: Float64Array;
  /** 1 where `#lastHeard` is a receipt, so the next receipt measures a silence. */
  readonly #measured: Uint8Array;
  readonly #peakMs: Float64Array;
  readonly #peakAtMs: Float64Array;

  constructor(
    universe: number,
    readonly self: ActorId,
    readonly floorMs: number,
  ) {
    assert(Number.isInteger(universe) && universe > 0, `universe ${universe}`);
    assert(floorMs > 0, `suspicion floor ${floorMs} ms`);
    this.#lastHeard = new Float64Array(universe).fill(-Infinity);
    this.#measured = new Uint8Array(universe);
    this.#peakMs = new Float64Array(universe);
    this.#peakAtMs = new Float64Array(universe);
  }

  /** A message from replica `from` arrived at `nowMs`. */
  heard(from: ActorId, nowMs: number): void {
    if (!(from >= 0 && from < this.#lastHeard.length))
      assert.fail(`heard from ${from}, not a replica of 0..${this.#lastHeard.length - 1}`);
    if (this.#measured[from] === 1) {
      const silenceMs = nowMs - (this.#lastHeard[from] as number);
      const counted = Math.min(silenceMs, COUNTED_SILENCE_MAX_FLOORS * this.floorMs);
      if (counted > this.#decayedPeak(from, nowMs)) {
        this.#peakMs[from] = counted;
        this.#peakAtMs[from] = nowMs;
      }
    }
    this.#lastHeard[from] = nowMs;
    this.#measured[from] = 1;
  }

  /**
   * `id`'s clock starts at `atMs` without a receipt: a member just admitted, every member when
   * this replica was admitted (it heard nobody while it waited), or all of them at start.
   */
  startClock(id: ActorId, atMs: number): void {
    this.#lastHeard[id] = atMs;
    this.#measured[id] = 0;
  }

  #decayedPeak(id: ActorId, nowMs: number): number {
    const peak = this.#peakMs[id] as number;
    if (peak === 0) return 0;
    return peak * 2 ** (-(nowMs - (this.#peakAtMs[id] as number)) / SILENCE_PEAK_HALF_LIFE_MS);
  }

  /** How long `id` may be silent before it is suspected, now. */
  timeoutMs(id: ActorId, nowMs: number): number {
    return Math.max(this.floorMs, SUSPICION_PEAK_FACTOR * this.#decayedPeak(id, nowMs));
  }

  /**
   * Whether `id` (a member of a view whose members are `members`) is silent past its timeout
   * while this replica hears another member within half that: its silence, not this replica's.
   */
  suspects(id: ActorId, nowMs: number, members: readonly { id: ActorId }[]): boolean {
    const timeoutMs = this.timeoutMs(id, nowMs);
    if (nowMs - (this.#lastHeard[id] as number) <= timeoutMs) return false;
    let others = 0;
    for (const m of members) {
      if (m.id === id || m.id === this.self) continue;
      others++;
      if (nowMs - (this.#lastHeard[m.id] as number) <= timeoutMs / 2) return true;
    }
    return others === 0;
  }

  /** The longest recent silence observed from any replica (for stats), in ms. */
  peakSilenceMs(nowMs: number): number {
    let peak = 0;
    for (let id = 0; id < this.#peakMs.length; id++)
      peak = Math.max(peak, this.#decayedPeak(id, nowMs));
    return peak;
  }
}
