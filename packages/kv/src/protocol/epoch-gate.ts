import type { ActorId } from '@heal/actors/core';
import type { KvMessage } from './messages.js';
import type { Membership } from './membership.js';
import { isMember } from './view.js';

/**
 * The epoch check of a replica's data-plane messages: an older epoch is dropped and its sender
 * told our view; a newer one is dropped and its view fetched (the sender retransmits).
 */
export class EpochGate {
  readonly stats = { staleDropped: 0, futureDropped: 0 };
  /** By sender: the epoch whose view this replica last asked it for. */
  readonly #viewRequested = new Map<ActorId, number>();

  constructor(
    private readonly self: ActorId,
    private readonly membership: Membership,
    private readonly send: (to: ActorId, msg: KvMessage) => void,
  ) {}

  /** Whether `msg` is of the current epoch, from a member, to an admitted replica. */
  current(msg: KvMessage): boolean {
    const epoch = this.membership.view.epoch;
    if (msg.epoch < epoch) {
      this.stats.staleDropped++;
      this.membership.sendView(msg.sender, false);
      return false;
    }
    if (msg.epoch > epoch) {
      this.stats.futureDropped++;
      if (this.#viewRequested.get(msg.sender) !== msg.epoch) {
        this.#viewRequested.set(msg.sender, msg.epoch);
        this.send(msg.sender, { kind: 'view-request', epoch, sender: this.self });
      }
      return false;
    }
    return this.membership.admitted && isMember(this.membership.view, msg.sender);
  }
}
