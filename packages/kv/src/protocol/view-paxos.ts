import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import {
  MAX_VIEW_MEMBERS,
  type AcceptMsg,
  type AcceptedMsg,
  type NackMsg,
  type PrepareMsg,
  type PromiseMsg,
} from './messages.js';
import type { Timing } from './timing.js';
import { isMember, majority, sameMembers, type Member, type View } from './view.js';

interface Ballot {
  round: number;
  proposer: ActorId;
}

function compareBallot(a: Ballot, b: Ballot): number {
  return a.round - b.round || a.proposer - b.proposer;
}

/**
 * `value` with every member of `view` that promised put back if it dropped it: a promise is a
 * sign of life, fresher than the suspicion the value was built on (a proposer cut off for a
 * while suspects everyone, and would otherwise drop the live majority that just answered it).
 * Only a value no acceptor voted for may be changed so (Paxos phase 2 is free then).
 */
function keepingPromisers(value: ViewValue, view: View, promisers: Iterable<ActorId>): ViewValue {
  const members = [...value.members];
  const shadows = [...value.shadows];
  for (const id of promisers) {
    const m = view.members.find((x) => x.id === id);
    if (!m || members.some((x) => x.id === id)) continue;
    members.push(m);
    if (view.shadows.includes(id)) shadows.push(id);
  }
  if (members.length === value.members.length) return value;
  members.sort((a, b) => a.id - b.id);
  shadows.sort((a, b) => a - b);
  return { members, shadows };
}

/**
 * The round of the one ballot per epoch that skips phase 1: below every other round (those start
 * at 1), so no value can have been accepted under a lower ballot and any value is safe to propose
 * under it (Paxos' first ballot). Only the view's lowest-id member uses it, once per epoch.
 */
export const FAST_ROUND = 0;

/** The value agreed per epoch: the next view's members and shadows. */
export interface ViewValue {
  members: Member[];
  shadows: ActorId[];
}

interface Proposal {
  target: number;
  ballot: Ballot;
  phase: 'prepare' | 'accept';
  value: ViewValue;
  promises: Map<ActorId, PromiseMsg>;
  accepted: Set<ActorId>;
  startedMs: number;
}

type PaxosBody =
  | Omit<PrepareMsg, 'epoch' | 'sender'>
  | Omit<PromiseMsg, 'epoch' | 'sender'>
  | Omit<AcceptMsg, 'epoch' | 'sender'>
  | Omit<AcceptedMsg, 'epoch' | 'sender'>
  | Omit<NackMsg, 'epoch' | 'sender'>
  | { kind: 'view-request' };

export interface PaxosHost {
  readonly self: ActorId;
  readonly timing: Timing;
  now(): number;
  random(): number;
  view(): View;
  admitted(): boolean;
  send(to: ActorId, body: PaxosBody): void;
  /** Tells `to` this replica's view (`force`: even if it was told this epoch already). */
  sendView(to: ActorId, force: boolean): void;
  /** When this replica may vote for a view of `members` (the leases it granted to the dropped ended). */
  voteAllowedAtMs(members: readonly Member[]): number;
  /** A majority accepted `view`: install it and tell everyone. */
  decided(view: View): void;
  /** A majority voted for `view`, which has this replica, under one ballot: install it. */
  learned(view: View): void;
}

/** Ballots a learner counts votes of at once (a few proposers per epoch at most). */
export const LEARNER_BALLOTS_MAX = 8;

/** The votes a learner heard for one ballot, and the value they carry. */
interface Learning {
  value: ViewValue;
  quorum: number;
  from: Set<ActorId>;
}

function sameValue(a: ViewValue, b: ViewValue): boolean {
  return (
    sameMembers(a.members, b.members) &&
    a.shadows.length === b.shadows.length &&
    a.shadows.every((id) => b.shadows.includes(id))
  );
}

/**
 * Views agreed by a single-decree Paxos per epoch among the members of the current view: the
 * value for epoch e+1 is proposed, promised and accepted by members of view e, and decided by a
 * majority of them. An acceptor defers its vote for a view that drops a lease holder until the
 * leases it granted that holder ended (`voting` stops its grants meanwhile). Acceptor state is
 * volatile: a restarted replica votes in no epoch before the one that re-admits it. Everything
 * here moves on messages; a tick only retries a stalled proposal and a deferred vote.
 *
 * The view's lowest-id member (the usual proposer) starts with the fast round: accept/accepted
 * only, so a change is decided one round trip after it is proposed. It falls back to both phases
 * with a higher round when that is nacked or stalls, or when the value keeps less than a majority
 * of the view (a proposer cut off for a while suspects everyone: phase 1 keeps who answers it).
 * The members of a value are its learners: every acceptor sends them its vote too, so each
 * installs the view when the proposer could, a hop before the proposer's view reaches it (a
 * joiner's first message to its Buddy then meets a Buddy that has the view).
 *
 * Owned by the replica's thread; `reset` at every view install.
 */
export class ViewPaxos {
  #promised: Ballot | undefined;
  #accepted: { ballot: Ballot; value: ViewValue; atMs: number } | undefined;
  #deferredAccept: AcceptMsg | undefined;
  #proposal: Proposal | undefined;
  #nextProposalMs = 0;
  #highestRoundSeen = 0;
  /** The target epoch this replica last proposed under FAST_ROUND (once per epoch). */
  #fastTarget = 0;
  /** As a learner: votes heard per ballot of a view that has this replica (its own included). */
  readonly #learning = new Map<string, Learning>();
  readonly stats = { proposals: 0, fastProposals: 0, learned: 0, votesRefused: 0 };

  constructor(readonly host: PaxosHost) {}

  /** About to vote (a deferred accept) or voted for the next view: no lease may be granted. */
  get voting(): boolean {
    return this.#accepted !== undefined || this.#deferredAccept !== undefined;
  }

  /** A new view was installed: every ballot was about an older epoch. */
  reset(): void {
    this.#promised = undefined;
    this.#accepted = undefined;
    this.#deferredAccept = undefined;
    this.#proposal = undefined;
    this.#learning.clear();
  }

  /** Whether a proposal may start now (none under way within its timeout, no back-off). */
  mayPropose(): boolean {
    const now = this.host.now();
    if (this.#proposal && now - this.#proposal.startedMs < this.host.timing.proposalTimeoutMs)
      return false;
    return now >= this.#nextProposalMs;
  }

  /** Proposes `value` for the next epoch, or forgets a stalled proposal when there is none. */
  propose(value: ViewValue | undefined): void {
    if (!value) {
      this.#proposal = undefined;
      return;
    }
    const view = this.host.view();
    const target = view.epoch + 1;
    const fast = this.#mayUseFastRound(view, value);
    const round = fast ? FAST_ROUND : this.#highestRoundSeen + 1;
    this.#highestRoundSeen = Math.max(this.#highestRoundSeen, round);
    this.#proposal = {
      target,
      ballot: { round, proposer: this.host.self },
      phase: fast ? 'accept' : 'prepare',
      value,
      promises: new Map(),
      accepted: new Set(),
      startedMs: this.host.now(),
    };
    this.stats.proposals++;
    if (!fast) {
      this.#toVoters({ kind: 'prepare', target, round, proposer: this.host.self });
      return;
    }
    this.#fastTarget = target;
    this.stats.fastProposals++;
    this.#toVoters({
      kind: 'accept',
      target,
      round,
      proposer: this.host.self,
      members: value.members,
      shadows: value.shadows,
    });
  }

  /**
   * Whether `value` may go under FAST_ROUND: this replica is the view's lowest-id member (the one
   * that may, so two values never share that ballot), has not used it for this epoch, has neither
   * promised nor voted in it (someone else is proposing), and the value keeps a majority.
   */
  #mayUseFastRound(view: View, value: ViewValue): boolean {
    const self = this.host.self;
    if (view.members.some((m) => m.id < self) || !isMember(view, self)) return false;
    if (this.#fastTarget === view.epoch + 1) return false;
    if (this.#promised !== undefined || this.#accepted !== undefined) return false;
    const kept = value.members.filter((m) => isMember(view, m.id)).length;
    return kept >= majority(view.members.length);
  }

  /**
   * Casts a deferred vote once the leases it waited for ended. A vote cast a proposal timeout
   * ago with no view decided since is finished here: its proposer may have given up (the view it
   * proposed no longer wanted, say a cut-off member back), and an acceptor that voted grants no
   * lease until the epoch is decided, so every read would stall. Proposing the voted value runs
   * Paxos for the epoch again: phase 1 adopts whatever value a majority may have chosen.
   */
  tick(): void {
    const deferred = this.#deferredAccept;
    if (deferred && this.host.now() >= this.host.voteAllowedAtMs(deferred.members)) {
      this.#deferredAccept = undefined;
      this.onAccept(deferred);
    }
    const voted = this.#accepted;
    if (
      voted &&
      this.host.now() - voted.atMs >= this.host.timing.proposalTimeoutMs &&
      this.mayPropose()
    ) {
      voted.atMs = this.host.now();
      this.propose(voted.value);
    }
  }

  /** Sends to every member of the current view, this replica included (handled in place). */
  #toVoters(
    body: Omit<PrepareMsg, 'epoch' | 'sender'> | Omit<AcceptMsg, 'epoch' | 'sender'>,
  ): void {
    const view = this.host.view();
    for (const m of view.members) {
      if (m.id !== this.host.self) {
        this.host.send(m.id, body);
        continue;
      }
      const msg = { ...body, epoch: view.epoch, sender: this.host.self };
      if (msg.kind === 'prepare') this.onPrepare(msg);
      else this.onAccept(msg as AcceptMsg);
    }
  }

  #reply(
    to: ActorId,
    body:
      | Omit<PromiseMsg, 'epoch' | 'sender'>
      | Omit<AcceptedMsg, 'epoch' | 'sender'>
      | Omit<NackMsg, 'epoch' | 'sender'>,
  ): void {
    if (to !== this.host.self) {
      this.host.send(to, body);
      return;
    }
    const msg = { ...body, epoch: this.host.view().epoch, sender: to };
    if (msg.kind === 'promise') this.onPromise(msg as PromiseMsg);
    else if (msg.kind === 'accepted') this.onAccepted(msg as AcceptedMsg);
    else this.onNack(msg as NackMsg);
  }

  /** Checks a ballot message's target epoch; answers a stale proposer with this replica's view. */
  #forCurrentTarget(msg: { target: number; sender: ActorId }): boolean {
    if (!this.host.admitted()) return false;
    const view = this.host.view();
    if (msg.target <= view.epoch) {
      this.host.sendView(msg.sender, false);
      return false;
    }
    if (msg.target > view.epoch + 1) {
      this.host.send(msg.sender, { kind: 'view-request' });
      return false;
    }
    return isMember(view, msg.sender);
  }

  onPrepare(msg: PrepareMsg): void {
    if (!this.#forCurrentTarget(msg)) return;
    const ballot = { round: msg.round, proposer: msg.proposer };
    this.#highestRoundSeen = Math.max(this.#highestRoundSeen, msg.round);
    // The same ballot again (a prepare delivered twice, or after its accept) is promised again:
    // a nack would read to its proposer as a higher ballot and end its proposal.
    if (this.#promised && compareBallot(ballot, this.#promised) < 0) {
      this.#nack(msg, this.#promised);
      return;
    }
    this.#promised = ballot;
    const acc = this.#accepted;
    this.#reply(msg.sender, {
      kind: 'promise',
      target: msg.target,
      round: msg.round,
      proposer: msg.proposer,
      hasAccepted: acc !== undefined,
      acceptedRound: acc?.ballot.round ?? 0,
      acceptedProposer: acc?.ballot.proposer ?? 0,
      members: acc?.value.members ?? [],
      shadows: acc?.value.shadows ?? [],
    });
  }

  #nack(msg: PrepareMsg | AcceptMsg, promised: Ballot): void {
    this.#reply(msg.sender, {
      kind: 'nack',
      target: msg.target,
      round: msg.round,
      proposer: msg.proposer,
      promisedRound: promised.round,
      promisedProposer: promised.proposer,
    });
  }

  #ours(
    msg: { target: number; round: number; proposer: ActorId; sender: ActorId },
    phase: Proposal['phase'],
  ): Proposal | undefined {
    const p = this.#proposal;
    if (!p || p.phase !== phase || msg.target !== p.target || msg.round !== p.ballot.round)
      return undefined;
    return msg.proposer === this.host.self && isMember(this.host.view(), msg.sender)
      ? p
      : undefined;
  }

  onPromise(msg: PromiseMsg): void {
    const p = this.#ours(msg, 'prepare');
    if (!p) return;
    p.promises.set(msg.sender, msg);
    if (p.promises.size < majority(this.host.view().members.length)) return;
    // Paxos: adopt the value accepted under the highest ballot, if any.
    let best: PromiseMsg | undefined;
    for (const promise of p.promises.values()) {
      if (!promise.hasAccepted) continue;
      if (
        !best ||
        compareBallot(
          { round: promise.acceptedRound, proposer: promise.acceptedProposer },
          { round: best.acceptedRound, proposer: best.acceptedProposer },
        ) > 0
      )
        best = promise;
    }
    if (best) p.value = { members: best.members, shadows: best.shadows };
    else p.value = keepingPromisers(p.value, this.host.view(), p.promises.keys());
    p.phase = 'accept';
    this.#toVoters({
      kind: 'accept',
      target: p.target,
      round: p.ballot.round,
      proposer: this.host.self,
      members: p.value.members,
      shadows: p.value.shadows,
    });
  }

  onAccept(msg: AcceptMsg): void {
    if (!this.#forCurrentTarget(msg)) return;
    const ballot = { round: msg.round, proposer: msg.proposer };
    if (this.#promised && compareBallot(ballot, this.#promised) < 0) {
      this.#nack(msg, this.#promised);
      return;
    }
    // Deferring stops lease grants at once; the vote itself waits for dropped holders' leases.
    this.#promised = ballot;
    if (this.host.now() < this.host.voteAllowedAtMs(msg.members)) {
      this.#deferredAccept = msg;
      return;
    }
    this.#accepted = {
      ballot,
      value: { members: msg.members, shadows: msg.shadows },
      atMs: this.host.now(),
    };
    const view = this.host.view();
    const vote = {
      kind: 'accepted' as const,
      target: msg.target,
      round: msg.round,
      proposer: msg.proposer,
      members: msg.members,
      shadows: msg.shadows,
      quorum: majority(view.members.length),
    };
    this.#reply(msg.sender, vote);
    for (const m of msg.members) {
      if (m.id !== this.host.self && m.id !== msg.sender) this.host.send(m.id, vote);
    }
    if (msg.sender !== this.host.self)
      this.#learn({ ...vote, epoch: view.epoch, sender: this.host.self });
  }

  onAccepted(msg: AcceptedMsg): void {
    const p = this.#ours(msg, 'accept');
    if (!p) {
      this.#learn(msg);
      return;
    }
    p.accepted.add(msg.sender);
    if (p.accepted.size < majority(this.host.view().members.length)) return;
    const decided: View = { epoch: p.target, members: p.value.members, shadows: p.value.shadows };
    this.host.decided(decided);
    // A one-member view decides the next change (a joiner waiting) inside its own install.
    assert(
      this.host.view().epoch >= decided.epoch,
      `installed the view decided for epoch ${decided.epoch}`,
    );
  }

  onNack(msg: NackMsg): void {
    this.#highestRoundSeen = Math.max(this.#highestRoundSeen, msg.promisedRound);
    const p = this.#proposal;
    if (
      !p ||
      msg.target !== p.target ||
      msg.round !== p.ballot.round ||
      msg.proposer !== this.host.self
    )
      return;
    if (compareBallot({ round: msg.promisedRound, proposer: msg.promisedProposer }, p.ballot) <= 0)
      return;
    // Another proposer is ahead: back off for a random while, then retry with a higher round.
    this.#proposal = undefined;
    this.#nextProposalMs =
      this.host.now() + this.host.timing.proposalTimeoutMs * (0.5 + this.host.random());
  }

  /**
   * A vote for a view that has this replica, newer than its own: the view is chosen once
   * `quorum` acceptors voted for the same ballot (Paxos' learner; a ballot carries one value).
   */
  #learn(msg: AcceptedMsg): void {
    const self = this.host.self;
    if (msg.target <= this.host.view().epoch || !msg.members.some((m) => m.id === self)) return;
    if (msg.quorum < 1 || msg.quorum > majority(MAX_VIEW_MEMBERS)) {
      this.stats.votesRefused++;
      return;
    }
    const key = `${msg.target}/${msg.round}/${msg.proposer}`;
    const value: ViewValue = { members: msg.members, shadows: msg.shadows };
    let learning = this.#learning.get(key);
    if (!learning) {
      if (this.#learning.size >= LEARNER_BALLOTS_MAX) {
        const oldest = this.#learning.keys().next().value as string;
        this.#learning.delete(oldest);
      }
      learning = { value, quorum: msg.quorum, from: new Set() };
      this.#learning.set(key, learning);
    } else if (learning.quorum !== msg.quorum || !sameValue(learning.value, value)) {
      // Votes for one ballot carry one value from acceptors of one view: this one is not valid.
      this.stats.votesRefused++;
      return;
    }
    learning.from.add(msg.sender);
    if (learning.from.size < learning.quorum) return;
    this.stats.learned++;
    this.host.learned({ epoch: msg.target, members: value.members, shadows: value.shadows });
  }
}
