import type { ActorId } from '@heal/actors/core';
import type { ViewInfoMsg } from '../protocol/messages.js';

/**
 * The newest view replicas told a client of: its operations go to the view's members. Until a
 * view is known, every replica counts as one. A ShadowReplica is a member: it answers
 * not-serving to reads and forwards writes.
 */
export class KnownView {
  #epoch = 0;
  /** By replica id: 1 when the newest view known has it as a member. */
  readonly #members: Uint8Array;

  constructor(readonly replicas: number) {
    this.#members = new Uint8Array(replicas).fill(1);
  }

  isMember(replica: ActorId): boolean {
    return this.#members[replica] === 1;
  }

  /** Takes the view of `msg` if it is newer than the one known; false if it is not. */
  install(msg: ViewInfoMsg): boolean {
    if (msg.epoch <= this.#epoch) return false;
    this.#epoch = msg.epoch;
    this.#members.fill(0);
    for (const m of msg.members) if (m.id < this.replicas) this.#members[m.id] = 1;
    return true;
  }

  /** The next member after `replica` in the newest view known (`replica` itself if none). */
  memberAfter(replica: ActorId): ActorId {
    const n = this.replicas;
    for (let i = 1; i < n; i++) {
      const next = (replica + i) % n;
      if (this.#members[next] === 1) return next;
    }
    return replica;
  }
}
