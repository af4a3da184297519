import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import type { LeaseGrantMsg, LeaseRequestMsg } from './messages.js';
import type { Timing } from './timing.js';
import { incarnationOf, isMember, majority, type Member, type View } from './view.js';

/** Lease requests remembered while their grants come in; older ones are forgotten. */
export const MAX_PENDING_LEASES = 8;

interface PendingLease {
  sentMs: number;
  epoch: number;
  grants: Set<ActorId>;
}

export interface LeaseHost {
  readonly self: ActorId;
  readonly timing: Timing;
  now(): number;
  send(to: ActorId, body: { kind: 'lease-request' | 'lease-grant'; reqId: number }): void;
}

/**
 * Read leases of one replica (ARCHITECTURE.md §4, Leases), both sides. As holder it serves reads
 * only under a lease from a majority of its view, bound to the epoch and counted from when it
 * sent the request. As grantor it records when each lease it granted ends on its own clock; its
 * vote for a view that drops a holder waits for that end plus the maximum clock drift
 * (`voteAllowedAtMs`), and it grants nothing while about to vote or after voting (the caller
 * says so: `voting`). So when a view without a holder is decided, the holder's lease has ended.
 *
 * Owned by the replica's thread.
 */
export class Leases {
  readonly #pending = new Map<number, PendingLease>();
  #nextReq = 1;
  #lastRequestMs = -Infinity;
  #epoch = -1;
  #untilMs = -Infinity;
  /** Members of the view whose majority granted the lease held (it may have been carried since). */
  #grantorsOf = 0;
  /** As grantor: when the latest lease granted to each holder ends, on this replica's clock. */
  readonly #grantedUntil = new Map<ActorId, number>();
  readonly stats = { leaseGrants: 0 };

  constructor(readonly host: LeaseHost) {}

  /** Whether this replica, admitted to `view`, may serve reads now. */
  holds(view: View, admitted: boolean): boolean {
    return admitted && this.#epoch === view.epoch && this.host.now() < this.#untilMs;
  }

  renewalDue(): boolean {
    return this.host.now() - this.#lastRequestMs >= this.host.timing.leaseRenewMs;
  }

  /** Asks every other member of `view` for a lease; grants itself one unless `voting`. */
  request(view: View, voting: boolean): void {
    const now = this.host.now();
    this.#lastRequestMs = now;
    const reqId = this.#nextReq++;
    this.#pending.set(reqId, { sentMs: now, epoch: view.epoch, grants: new Set() });
    if (this.#pending.size > MAX_PENDING_LEASES)
      this.#pending.delete(this.#pending.keys().next().value as number);
    // The holder grants itself like any member: not once it is about to vote for the next view.
    if (!voting) this.#grant(view, this.host.self, reqId);
    for (const m of view.members)
      if (m.id !== this.host.self) this.host.send(m.id, { kind: 'lease-request', reqId });
  }

  #grant(view: View, holder: ActorId, reqId: number): void {
    const until = this.host.now() + this.host.timing.leaseMs;
    this.#grantedUntil.set(holder, Math.max(this.#grantedUntil.get(holder) ?? -Infinity, until));
    this.stats.leaseGrants++;
    if (holder === this.host.self) this.#count(view, this.host.self, reqId, view.epoch);
    else this.host.send(holder, { kind: 'lease-grant', reqId });
  }

  /** A member asks for a lease: granted unless this replica is about to vote or voted (`voting`). */
  onRequest(msg: LeaseRequestMsg, view: View, admitted: boolean, voting: boolean): void {
    if (msg.epoch !== view.epoch || !admitted || !isMember(view, msg.sender) || voting) return;
    this.#grant(view, msg.sender, msg.reqId);
  }

  onGrant(msg: LeaseGrantMsg, view: View): void {
    if (msg.epoch !== view.epoch || !isMember(view, msg.sender)) return;
    this.#count(view, msg.sender, msg.reqId, msg.epoch);
  }

  #count(view: View, from: ActorId, reqId: number, epoch: number): void {
    const pending = this.#pending.get(reqId);
    if (!pending || pending.epoch !== epoch) return;
    pending.grants.add(from);
    if (pending.grants.size < majority(view.members.length)) return;
    const until = pending.sentMs + this.host.timing.leaseMs;
    if (this.#epoch !== epoch || until > this.#untilMs) {
      this.#epoch = epoch;
      this.#untilMs = until;
      this.#grantorsOf = view.members.length;
    }
  }

  /**
   * When this replica may vote for a view of `members`: once the leases it granted to the
   * dropped ended. A dropped incarnation the runtime saw end (`ended`: by member) serves no more
   * reads, so its lease is not waited for.
   */
  voteAllowedAtMs(
    view: View,
    members: readonly Member[],
    ended: ReadonlyMap<ActorId, number>,
  ): number {
    let at = -Infinity;
    for (const m of view.members) {
      if (members.some((n) => n.id === m.id) || ended.get(m.id) === m.incarnation) continue;
      at = Math.max(at, (this.#grantedUntil.get(m.id) ?? -Infinity) + this.host.timing.driftMs);
    }
    return at;
  }

  /**
   * A new view: pending requests are void and a renewal is due at once. The lease held in
   * `previous` stays valid in `view` only if every majority of the voters that could drop the
   * holder meets every majority of the view that granted it, since those grantors' votes wait
   * for it to end. A view that only adds members keeps every grantor a voter (and every holder a
   * member: it takes every INV); its majorities meet the grantors' iff majority(granting) +
   * majority(new) > new size (3 to 5 members fails: 2 + 3). So admitting a replica stalls no read.
   */
  viewInstalled(previous: View, view: View, wasAdmitted: boolean, admitted: boolean): void {
    this.#pending.clear();
    this.#lastRequestMs = -Infinity;
    if (!wasAdmitted || !admitted || this.#epoch !== previous.epoch) return;
    const grows = previous.members.every((m) => incarnationOf(view, m.id) === m.incarnation);
    const size = view.members.length;
    if (grows && majority(this.#grantorsOf) + majority(size) > size) this.#epoch = view.epoch;
    assert(
      this.#epoch !== view.epoch || this.#grantorsOf > 0,
      'a carried lease was granted by a view',
    );
  }

  /** The lease held (epoch and end), for stats and tests. */
  info(): { epoch: number; untilMs: number } {
    return { epoch: this.#epoch, untilMs: this.#untilMs };
  }
}
