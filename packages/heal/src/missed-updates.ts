import type { ActorId } from '@heal/actors/core';

/**
 * The Buddy's Missed-updates buffer for one failed replica (ARCHITECTURE.md §6, HEAL step 3): the latest
 * write per key it took since the failure. Only keys and sizes are kept: the Buddy's own
 * record of a key is that latest entry (it takes every write), so selection reads it there.
 * Bounded in bytes; past the bound it overflows, forgets its keys and cannot cover the gap
 * any more (the Merkle descent then finds what was missed).
 */
export class MissedUpdates {
  readonly #sizes = new Map<string, number>();
  #bytes = 0;
  #overflow = false;
  /** Recording stops when the view admitting the failed replica is installed. */
  #open = true;

  /**
   * @param complete whether this Buddy has recorded since the failure itself (a Buddy that
   * took over from a failed one has not, so its buffer cannot cover the gap)
   */
  constructor(
    readonly failed: ActorId,
    readonly boundBytes: number,
    readonly complete: boolean,
  ) {}

  get keys(): number {
    return this.#sizes.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get overflow(): boolean {
    return this.#overflow;
  }

  get open(): boolean {
    return this.#open;
  }

  /** Whether selecting from this buffer alone finds everything the failed replica lacks. */
  get covers(): boolean {
    return this.complete && !this.#overflow;
  }

  /** A write applied at the Buddy: recorded while the buffer is open. */
  record(key: string, bytes: number): void {
    if (this.#open) this.#put(key, bytes);
  }

  /**
   * A write handed off (HEAL step 2): one of the view before, not at DP, which the failed
   * replica may lack. Recorded even when closed: a replica that failed again mid-recovery and is
   * re-admitted in the same view keeps this buffer closed, yet lacks what its last incarnation
   * held only in memory.
   */
  take(key: string, bytes: number): void {
    this.#put(key, bytes);
  }

  #put(key: string, bytes: number): void {
    if (this.#overflow) return;
    const before = this.#sizes.get(key) ?? 0;
    if (this.#bytes - before + bytes > this.boundBytes) {
      this.#overflow = true;
      this.#sizes.clear();
      this.#bytes = 0;
      return;
    }
    this.#sizes.set(key, bytes);
    this.#bytes += bytes - before;
  }

  close(): void {
    this.#open = false;
  }

  /** The replica failed again before it recovered: what it lacks only grows. */
  reopen(): void {
    this.#open = true;
  }

  keyList(): IterableIterator<string> {
    return this.#sizes.keys();
  }
}
