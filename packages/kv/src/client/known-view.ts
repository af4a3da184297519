import type { ActorId } from '@heal/actors/core';
import type { ViewInfoMsg } from '../protocol/messages.js';

/**
 * The newest view replicas told a client of: its operations go to the view's members that
 * serve, the full ones. A ShadowReplica is a member but answers not-serving to reads and
 * forwards writes, so asking it first only adds a round trip through a replica busy
 * recovering. Until a view is known, every replica counts as a full member; in a view of
 * shadows only (a cold start) every member is asked.
 */
export class KnownView {
  #epoch = 0;
  /** By replica id: 1 when the newest view known has it as a member. */
  readonly #members: Uint8Array;
  /** By replica id: 1 when it is a member not yet known to have finished recovering. */
  readonly #shadows: Uint8Array;
  #serving: number;

  constructor(readonly replicas: number) {
    this.#members = new Uint8Array(replicas).fill(1);
    this.#shadows = new Uint8Array(replicas);
    this.#serving = replicas;
  }

  /** Whether `replica` is where an operation should go: a full member, or any member if none is. */
  serves(replica: ActorId): boolean {
    if (this.#members[replica] !== 1) return false;
    return this.#serving === 0 || this.#shadows[replica] === 0;
  }

  /**
   * Takes the view of `msg` if it is newer than the one known, or its shadows if it is the
   * same view with fewer of them (replicas tell their clients when a shadow finished
   * recovering); false if it taught nothing. Shadows only shrink within an epoch, so a late
   * message listing more of them changes nothing.
   */
  install(msg: ViewInfoMsg): boolean {
    if (msg.epoch < this.#epoch) return false;
    if (msg.epoch > this.#epoch) {
      this.#epoch = msg.epoch;
      this.#members.fill(0);
      for (const m of msg.members) if (m.id < this.replicas) this.#members[m.id] = 1;
      this.#shadows.fill(0);
      for (const id of msg.shadows) if (id < this.replicas) this.#shadows[id] = 1;
      this.#countServing();
      return true;
    }
    let narrowed = false;
    for (let id = 0; id < this.replicas; id++) {
      if (this.#shadows[id] === 1 && !msg.shadows.includes(id)) {
        this.#shadows[id] = 0;
        narrowed = true;
      }
    }
    if (narrowed) this.#countServing();
    return narrowed;
  }

  /** The next replica after `replica` that serves (`replica` itself if none). */
  memberAfter(replica: ActorId): ActorId {
    const n = this.replicas;
    for (let i = 1; i < n; i++) {
      const next = (replica + i) % n;
      if (this.serves(next)) return next;
    }
    return replica;
  }

  #countServing(): void {
    let serving = 0;
    for (let id = 0; id < this.replicas; id++)
      if (this.#members[id] === 1 && this.#shadows[id] === 0) serving++;
    this.#serving = serving;
  }
}
