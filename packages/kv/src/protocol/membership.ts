import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import type {
  AcceptMsg,
  AcceptedMsg,
  HeartbeatMsg,
  JoinRequestMsg,
  KvMessage,
  LeaseGrantMsg,
  LeaseRequestMsg,
  NackMsg,
  PrepareMsg,
  PromiseMsg,
  ViewInfoMsg,
} from './messages.js';
import type { ColdMembershipMessage, ColdPrepareMsg, ColdPromiseMsg, ColdStateMsg } from './cold-start-messages.js';
import type { Timing } from './timing.js';
import { formatView, incarnationOf, isColdStartView, isMember, majority, sameMembers, type Member, type View } from './view.js';

/** What membership needs from the replica hosting it. */
export interface MembershipHost {
  readonly self: ActorId;
  /** 0 at first start; a restarted replica must be re-admitted under its new incarnation. */
  readonly incarnation: number;
  /** Every replica id of the deployment: 0..universe-1. */
  readonly universe: number;
  readonly timing: Timing;
  /** How long this replica took to load its medium or dataset: peers loading as much may take as long. */
  readonly loadMs: number;
  /** Epoch of the last view this replica installed before, as its medium kept it (0: none). */
  readonly persistedEpoch: number;
  /** Makes `epoch` durable (before this replica acts in its view). */
  persistEpoch(epoch: number): void;
  now(): number;
  random(): number;
  send(to: ActorId, msg: KvMessage): void;
  /** A newer view was installed here; `wasAdmitted`: this replica was a member of the previous one. */
  installed(view: View, previous: View, wasAdmitted: boolean): void;
  /** Whether this replica is a ShadowReplica (admitted, still recovering). */
  recovering(): boolean;
}

interface Ballot {
  round: number;
  proposer: ActorId;
}

function compareBallot(a: Ballot, b: Ballot): number {
  return a.round - b.round || a.proposer - b.proposer;
}

interface Proposal {
  target: number;
  ballot: Ballot;
  phase: 'prepare' | 'accept';
  value: { members: Member[]; shadows: ActorId[] };
  promises: Map<ActorId, PromiseMsg>;
  accepted: Set<ActorId>;
  startedMs: number;
}

interface PendingLease {
  sentMs: number;
  epoch: number;
  grants: Set<ActorId>;
}

/** Lease requests remembered while their grants come in; older ones are forgotten. */
const MAX_PENDING_LEASES = 8;
/** Joiners remembered before a view admits them. */
const MAX_PENDING_JOINERS = 64;
/** The replica that forms the view of a cold start (every replica restarted, none admitted). */
export const COLD_START_COORDINATOR: ActorId = 0;

/** A cold start the coordinator is forming: every replica's promise for `target`, by incarnation. */
interface ColdPrepare {
  target: number;
  promises: Map<ActorId, number>;
  sentMs: number;
}

/**
 * Membership of one replica (DESIGN section 4): heartbeats and suspicion, views agreed by a
 * single-decree Paxos per epoch among the members of the previous view, join of restarted
 * replicas under a new incarnation, and read leases from a majority bound to the epoch.
 *
 * Lease safety: a grantor records when each lease it granted ends on its own clock, grants no
 * lease once it is about to vote or has voted for the next epoch, and votes for (accepts) a view
 * that drops a holder only after that end plus the maximum clock drift. A holder counts its lease from when it sent
 * the request. So when a view without r is decided, r's lease has ended. A view that only adds
 * members carries the leases over (see #install).
 *
 * Acceptor state is volatile, so a restarted replica votes in no epoch before the one that
 * re-admits it (it cannot remember promises of its previous incarnation).
 *
 * Cold start (every replica restarted or removed, so nobody can admit anybody): each replica
 * persists the epoch of every view it installs before acting in it. A replica that is not
 * admitted tells COLD_START_COORDINATOR its incarnation and the highest epoch it knows. Once
 * the coordinator (itself not admitted) has heard from every replica of the universe, it asks
 * each to promise `target` = one above every epoch reported; a replica promises only while not
 * admitted, and then installs no view below `target`. With every promise in, it decides the
 * cold-start view `target` of all replicas under their promised incarnations, every one a
 * shadow (isColdStartView), installs it (persisting `target` first) and sends it to all.
 * Safety: no Paxos view can be decided at `target` or below it afterwards, since that needs a
 * majority admitted in a view below `target`, and every replica promised while not admitted;
 * only the coordinator decides cold-start views, and a restarted coordinator reads the epoch it
 * persisted, so no epoch is reused. A cold start needs every replica: reconciliation takes the
 * highest ts any of them kept.
 */
export class Membership {
  #view: View;
  /** Whether this incarnation is a member of `#view` (false while joining). */
  #admitted: boolean;
  /** By replica id: when it was last heard from (an array, not a Map: it is set for every message). */
  readonly #lastHeard: Float64Array;
  // Acceptor state for epoch view.epoch + 1.
  #promised: Ballot | undefined;
  #accepted: { ballot: Ballot; members: Member[]; shadows: ActorId[] } | undefined;
  #deferredAccept: AcceptMsg | undefined;
  // Proposer state.
  #proposal: Proposal | undefined;
  #nextProposalMs = 0;
  #highestRoundSeen = 0;
  readonly #joiners = new Map<ActorId, number>();
  /** Members whose heartbeats said they finished recovering, by the incarnation that said it. */
  readonly #full = new Map<ActorId, number>();
  // Leases.
  readonly #grantedUntil = new Map<ActorId, number>();
  readonly #pendingLeases = new Map<number, PendingLease>();
  #nextLeaseReq = 1;
  #lastLeaseReqMs = -Infinity;
  #leaseEpoch = -1;
  #leaseUntilMs = -Infinity;
  /** Members of the view whose majority granted the lease held (it may have been carried since). */
  #leaseGrantorsOf = 0;
  #lastHeartbeatMs = -Infinity;
  #lastJoinMs = -Infinity;
  // Cold start: the highest epoch persisted, the lowest epoch this replica may install (raised
  // by a promise), and the coordinator's state.
  #persistedEpoch: number;
  #floorEpoch = 0;
  #lastColdMs = -Infinity;
  readonly #coldStates = new Map<ActorId, { incarnation: number; lastEpoch: number }>();
  #coldPrepare: ColdPrepare | undefined;
  readonly #viewSentTo = new Map<ActorId, number>();
  readonly stats = { viewsInstalled: 0, proposals: 0, leaseGrants: 0, staleViewReplies: 0, coldStartViews: 0 };

  constructor(readonly host: MembershipHost) {
    const members = Array.from({ length: host.universe }, (_, id) => ({ id, incarnation: 0 }));
    this.#lastHeard = new Float64Array(host.universe).fill(-Infinity);
    this.#view = { epoch: 1, members, shadows: [] };
    // A first start on media that installed a view before (a new process on an old data
    // directory) is a cold start, not the initial view: the media may differ.
    this.#admitted = host.incarnation === 0 && host.persistedEpoch === 0;
    this.#persistedEpoch = host.persistedEpoch;
    if (this.#admitted) {
      // The initial view is installed too: a later process on these media must see one was.
      host.persistEpoch(this.#view.epoch);
      this.#persistedEpoch = this.#view.epoch;
    }
    // Replicas start at slightly different times, and load as much as this one did (a dataset
    // can take seconds): give everyone one more suspicion period plus twice this load.
    const now = host.now() + host.timing.suspicionMs + 2 * host.loadMs;
    for (const m of members) this.#lastHeard[m.id] = now;
  }

  get view(): View {
    return this.#view;
  }

  /** A member of the installed view under this incarnation. */
  get admitted(): boolean {
    return this.#admitted;
  }

  /** Reads are allowed only under a majority lease for the current epoch. */
  holdsLease(): boolean {
    return this.#admitted && this.#leaseEpoch === this.#view.epoch && this.host.now() < this.#leaseUntilMs;
  }

  heard(from: ActorId): void {
    if (!(from >= 0 && from < this.#lastHeard.length)) assert.fail(`heard from ${from}, not a replica of 0..${this.#lastHeard.length - 1}`);
    this.#lastHeard[from] = this.host.now();
  }

  /**
   * Silent for longer than the suspicion timeout, or restarted: a member asking to join under a
   * new incarnation is not the incarnation the view holds (its messages prove nothing about it).
   */
  suspects(id: ActorId): boolean {
    const joining = this.#joiners.get(id);
    if (joining !== undefined && joining !== incarnationOf(this.#view, id)) return true;
    return this.host.now() - (this.#lastHeard[id] ?? -Infinity) > this.host.timing.suspicionMs;
  }

  /**
   * Periodic work: heartbeats, lease renewal, joining, deferred votes, proposals. A replica
   * that is not admitted asks to join only when `mayJoin` (its recovery strategy decides).
   */
  tick(mayJoin = true): void {
    const now = this.host.now();
    const { timing } = this.host;
    if (!this.#admitted) {
      if (mayJoin && now - this.#lastJoinMs >= timing.joinRetryMs) {
        this.#lastJoinMs = now;
        for (let id = 0; id < this.host.universe; id++) {
          if (id !== this.host.self) this.#send(id, { kind: 'join-request', incarnation: this.host.incarnation });
        }
      }
      // Whatever the strategy says about joining: in a cold start there is nobody to catch up from.
      if (now - this.#lastColdMs >= timing.joinRetryMs) {
        this.#lastColdMs = now;
        if (this.host.self === COLD_START_COORDINATOR) this.#coldStartStep();
        else this.#send(COLD_START_COORDINATOR, { kind: 'cold-state', incarnation: this.host.incarnation, lastEpoch: this.#lastEpoch() });
      }
      return;
    }
    if (now - this.#lastHeartbeatMs >= timing.heartbeatMs) this.heartbeat();
    if (now - this.#lastLeaseReqMs >= timing.leaseRenewMs) this.#requestLease();
    if (this.#deferredAccept && now >= this.#acceptAllowedAtMs(this.#deferredAccept.members)) {
      const msg = this.#deferredAccept;
      this.#deferredAccept = undefined;
      this.#onAccept(msg);
    }
    this.#maybePropose();
  }

  /** Tells every other member now that this replica is alive, and whether it still recovers. */
  heartbeat(): void {
    this.#lastHeartbeatMs = this.host.now();
    this.#toOthers({ kind: 'heartbeat', recovering: this.host.recovering() });
  }

  /** A heartbeat of the current epoch from a member (the caller checked both). */
  onHeartbeat(msg: HeartbeatMsg): void {
    const incarnation = incarnationOf(this.#view, msg.sender);
    assert(incarnation !== undefined, `heartbeat of epoch ${msg.epoch} from ${msg.sender}, a member of it`);
    if (msg.recovering) this.#full.delete(msg.sender);
    else this.#full.set(msg.sender, incarnation);
  }

  /** Whether member `m` is known to have finished recovering (this replica knows its own state). */
  #knownFull(m: Member): boolean {
    if (m.id === this.host.self) return !this.host.recovering();
    return this.#full.get(m.id) === m.incarnation;
  }

  /** Handles a membership message; returns false if it was not one. */
  receive(msg: KvMessage): boolean {
    switch (msg.kind) {
      case 'lease-request':
        this.#onLeaseRequest(msg);
        return true;
      case 'lease-grant':
        this.#onLeaseGrant(msg);
        return true;
      case 'view-request':
        this.sendView(msg.sender);
        return true;
      case 'view':
        this.#onView(msg);
        return true;
      case 'join-request':
        this.#onJoinRequest(msg);
        return true;
      case 'prepare':
        this.#onPrepare(msg);
        return true;
      case 'promise':
        this.#onPromise(msg);
        return true;
      case 'accept':
        this.#onAccept(msg);
        return true;
      case 'accepted':
        this.#onAccepted(msg);
        return true;
      case 'nack':
        this.#onNack(msg);
        return true;
      default:
        return false;
    }
  }

  /** Tells `to` our view (it is behind), at most once per epoch per peer. */
  sendView(to: ActorId, force = true): void {
    if (!force && this.#viewSentTo.get(to) === this.#view.epoch) return;
    this.#viewSentTo.set(to, this.#view.epoch);
    this.stats.staleViewReplies++;
    this.#send(to, { kind: 'view', members: [...this.#view.members], shadows: [...this.#view.shadows] });
  }

  #send(to: ActorId, body: Record<string, unknown> & { kind: string }): void {
    this.host.send(to, { ...body, epoch: this.#view.epoch, sender: this.host.self } as KvMessage);
  }

  #toOthers(body: Record<string, unknown> & { kind: string }): void {
    for (const m of this.#view.members) if (m.id !== this.host.self) this.#send(m.id, body);
  }

  // ---- Leases -------------------------------------------------------------------------------

  #requestLease(): void {
    const now = this.host.now();
    this.#lastLeaseReqMs = now;
    const reqId = this.#nextLeaseReq++;
    this.#pendingLeases.set(reqId, { sentMs: now, epoch: this.#view.epoch, grants: new Set() });
    if (this.#pendingLeases.size > MAX_PENDING_LEASES) {
      const oldest = this.#pendingLeases.keys().next().value as number;
      this.#pendingLeases.delete(oldest);
    }
    // The holder grants itself like any member: not after promising a vote for the next epoch.
    if (this.#mayGrant()) this.#grant(this.host.self, reqId);
    this.#toOthers({ kind: 'lease-request', reqId });
  }

  /**
   * No lease is granted once this acceptor is about to vote (an accept waiting for leases to
   * end) or has voted for the next view: a vote must not be followed by a lease that outlives
   * it. A mere promise does not stop grants, since the vote itself waits for every lease it
   * granted to the dropped holders; so a proposal that stalls in its first phase cannot stop
   * reads in the current view.
   */
  #mayGrant(): boolean {
    return this.#accepted === undefined && this.#deferredAccept === undefined;
  }

  #grant(holder: ActorId, reqId: number): void {
    const until = this.host.now() + this.host.timing.leaseMs;
    this.#grantedUntil.set(holder, Math.max(this.#grantedUntil.get(holder) ?? -Infinity, until));
    this.stats.leaseGrants++;
    if (holder === this.host.self) this.#countGrant(this.host.self, reqId, this.#view.epoch);
    else this.#send(holder, { kind: 'lease-grant', reqId });
  }

  #onLeaseRequest(msg: LeaseRequestMsg): void {
    if (msg.epoch !== this.#view.epoch || !this.#admitted || !isMember(this.#view, msg.sender)) return;
    if (!this.#mayGrant()) return;
    this.#grant(msg.sender, msg.reqId);
  }

  #onLeaseGrant(msg: LeaseGrantMsg): void {
    if (msg.epoch !== this.#view.epoch || !isMember(this.#view, msg.sender)) return;
    this.#countGrant(msg.sender, msg.reqId, msg.epoch);
  }

  #countGrant(from: ActorId, reqId: number, epoch: number): void {
    const pending = this.#pendingLeases.get(reqId);
    if (!pending || pending.epoch !== epoch) return;
    pending.grants.add(from);
    if (pending.grants.size >= majority(this.#view.members.length)) {
      const until = pending.sentMs + this.host.timing.leaseMs;
      if (this.#leaseEpoch !== epoch || until > this.#leaseUntilMs) {
        this.#leaseEpoch = epoch;
        this.#leaseUntilMs = until;
        this.#leaseGrantorsOf = this.#view.members.length;
      }
    }
  }

  /** When this acceptor may vote for a view with `members`: after the leases of the dropped ended. */
  #acceptAllowedAtMs(members: readonly Member[]): number {
    let at = -Infinity;
    for (const m of this.#view.members) {
      if (members.some((n) => n.id === m.id)) continue;
      at = Math.max(at, (this.#grantedUntil.get(m.id) ?? -Infinity) + this.host.timing.driftMs);
    }
    return at;
  }

  // ---- Views ----------------------------------------------------------------------------------

  #onView(msg: ViewInfoMsg): void {
    if (msg.epoch <= this.#view.epoch || msg.epoch < this.#floorEpoch) return;
    this.#install({ epoch: msg.epoch, members: msg.members, shadows: msg.shadows });
  }

  #install(view: View): void {
    assert(view.epoch > this.#view.epoch, `views only move forward (${view.epoch} after ${this.#view.epoch})`);
    assert(view.epoch >= this.#floorEpoch, `a cold-start promise forbids installing ${formatView(view)} below epoch ${this.#floorEpoch}`);
    // Durable before this replica acts in the view (a restarted replica may install an older
    // view than it persisted, as a non-member: the persisted epoch never goes back).
    if (view.epoch > this.#persistedEpoch) {
      this.host.persistEpoch(view.epoch);
      this.#persistedEpoch = view.epoch;
    }
    this.#coldStates.clear();
    this.#coldPrepare = undefined;
    const previous = this.#view;
    this.#view = view;
    this.stats.viewsInstalled++;
    const wasAdmitted = this.#admitted;
    this.#admitted = incarnationOf(view, this.host.self) === this.host.incarnation;
    this.#promised = undefined;
    this.#accepted = undefined;
    this.#deferredAccept = undefined;
    this.#proposal = undefined;
    this.#pendingLeases.clear();
    this.#lastLeaseReqMs = -Infinity;
    if (wasAdmitted && this.#admitted && this.#leaseEpoch === previous.epoch && this.#carriesLease(previous, view)) {
      this.#leaseEpoch = view.epoch;
    }
    const now = this.host.now();
    for (const [id, incarnation] of [...this.#full]) if (incarnationOf(view, id) !== incarnation) this.#full.delete(id);
    for (const m of view.members) {
      // A replica admitted now heard nobody while it waited: it starts every member's clock.
      if (!wasAdmitted || !isMember(previous, m.id) || incarnationOf(previous, m.id) !== m.incarnation) this.#lastHeard[m.id] = now;
      if (this.#joiners.get(m.id) === m.incarnation) this.#joiners.delete(m.id);
    }
    this.host.installed(view, previous, wasAdmitted);
  }

  /**
   * Whether the lease held in `previous` stays valid in `view`, so admitting a replica stalls no
   * read. A member votes to drop a holder only once every lease it granted that holder ended;
   * so a view without the holder is decided only after the lease ended if each majority of the
   * voters meets each majority of the view that granted it. A view that only adds members keeps
   * every grantor a voter (and every holder a member: it takes every INV); its majorities meet
   * the grantors' iff majority(granting) + majority(new) > new size (3 to 5 members fails: 2 + 3).
   */
  #carriesLease(previous: View, view: View): boolean {
    const grows = previous.members.every((m) => incarnationOf(view, m.id) === m.incarnation);
    const size = view.members.length;
    return grows && majority(this.#leaseGrantorsOf) + majority(size) > size;
  }

  #onJoinRequest(msg: JoinRequestMsg): void {
    // A request of this replica's own earlier incarnation, delivered late, asks nothing.
    if (!this.#admitted || msg.sender === this.host.self) return;
    if (incarnationOf(this.#view, msg.sender) === msg.incarnation) {
      this.sendView(msg.sender);
      return;
    }
    if (this.#joiners.size < MAX_PENDING_JOINERS || this.#joiners.has(msg.sender)) {
      this.#joiners.set(msg.sender, msg.incarnation);
    }
  }

  /**
   * The view this replica would propose next, or undefined when the current one is right. Its
   * shadows are the joiners it admits and the current shadows not known to have finished (a
   * change of shadows alone is no reason for a view change: the list is only conservative).
   */
  #desired(): { members: Member[]; shadows: ActorId[] } | undefined {
    const members: Member[] = [];
    const shadows: ActorId[] = [];
    for (const m of this.#view.members) {
      const joining = this.#joiners.get(m.id);
      if (joining !== undefined && joining !== m.incarnation) continue; // re-admitted below
      if (m.id !== this.host.self && this.suspects(m.id)) continue;
      members.push(m);
      if (this.#view.shadows.includes(m.id) && !this.#knownFull(m)) shadows.push(m.id);
    }
    for (const [id, incarnation] of this.#joiners) {
      members.push({ id, incarnation });
      shadows.push(id);
    }
    members.sort((a, b) => a.id - b.id);
    shadows.sort((a, b) => a - b);
    if (sameMembers(members, this.#view.members)) return undefined;
    // No full member left to recover from: such a view would look like a cold start without
    // being one (nobody reconciled). It waits for a full member instead.
    if (isColdStartView({ epoch: 0, members, shadows })) return undefined;
    return { members, shadows };
  }

  /** The lowest-id member this replica does not suspect proposes; others only vote. */
  #isProposer(): boolean {
    for (const m of this.#view.members) {
      if (m.id === this.host.self) return true;
      if (!this.suspects(m.id)) return false;
    }
    return false;
  }

  #maybePropose(): void {
    const now = this.host.now();
    const { timing } = this.host;
    if (this.#proposal && now - this.#proposal.startedMs < timing.proposalTimeoutMs) return;
    if (now < this.#nextProposalMs || !this.#isProposer()) return;
    const desired = this.#desired();
    if (!desired) {
      this.#proposal = undefined;
      return;
    }
    // A view must keep a majority of the old one reachable to be decided at all.
    const round = this.#highestRoundSeen + 1;
    this.#highestRoundSeen = round;
    this.#proposal = {
      target: this.#view.epoch + 1,
      ballot: { round, proposer: this.host.self },
      phase: 'prepare',
      value: desired,
      promises: new Map(),
      accepted: new Set(),
      startedMs: now,
    };
    this.stats.proposals++;
    this.#toVoters({ kind: 'prepare', target: this.#view.epoch + 1, round, proposer: this.host.self });
  }

  /** Sends to every member of the current view, self included (handled in place). */
  #toVoters(body: Record<string, unknown> & { kind: string }): void {
    for (const m of this.#view.members) {
      if (m.id === this.host.self) this.receive({ ...body, epoch: this.#view.epoch, sender: this.host.self } as KvMessage);
      else this.#send(m.id, body);
    }
  }

  #reply(to: ActorId, body: Record<string, unknown> & { kind: string }): void {
    if (to === this.host.self) this.receive({ ...body, epoch: this.#view.epoch, sender: to } as KvMessage);
    else this.#send(to, body);
  }

  /** Checks a ballot message's target epoch; answers a stale proposer with our view. */
  #forCurrentTarget(msg: { target: number; sender: ActorId }): boolean {
    if (!this.#admitted) return false;
    if (msg.target <= this.#view.epoch) {
      this.sendView(msg.sender, false);
      return false;
    }
    if (msg.target > this.#view.epoch + 1) {
      this.#send(msg.sender, { kind: 'view-request' });
      return false;
    }
    return isMember(this.#view, msg.sender);
  }

  #onPrepare(msg: PrepareMsg): void {
    if (!this.#forCurrentTarget(msg)) return;
    const ballot = { round: msg.round, proposer: msg.proposer };
    this.#highestRoundSeen = Math.max(this.#highestRoundSeen, msg.round);
    if (this.#promised && compareBallot(ballot, this.#promised) <= 0) {
      this.#reply(msg.sender, { kind: 'nack', target: msg.target, round: msg.round, proposer: msg.proposer,
        promisedRound: this.#promised.round, promisedProposer: this.#promised.proposer });
      return;
    }
    this.#promised = ballot;
    const acc = this.#accepted;
    this.#reply(msg.sender, {
      kind: 'promise', target: msg.target, round: msg.round, proposer: msg.proposer,
      hasAccepted: acc !== undefined, acceptedRound: acc?.ballot.round ?? 0, acceptedProposer: acc?.ballot.proposer ?? 0,
      members: acc?.members ?? [], shadows: acc?.shadows ?? [],
    });
  }

  #onPromise(msg: PromiseMsg): void {
    const p = this.#proposal;
    if (!p || p.phase !== 'prepare' || msg.target !== p.target || msg.round !== p.ballot.round ||
      msg.proposer !== this.host.self || !isMember(this.#view, msg.sender)) return;
    p.promises.set(msg.sender, msg);
    if (p.promises.size < majority(this.#view.members.length)) return;
    // Paxos: adopt the value accepted under the highest ballot, if any.
    let best: PromiseMsg | undefined;
    for (const promise of p.promises.values()) {
      if (!promise.hasAccepted) continue;
      if (!best || compareBallot({ round: promise.acceptedRound, proposer: promise.acceptedProposer },
        { round: best.acceptedRound, proposer: best.acceptedProposer }) > 0) best = promise;
    }
    if (best) p.value = { members: best.members, shadows: best.shadows };
    p.phase = 'accept';
    this.#toVoters({ kind: 'accept', target: p.target, round: p.ballot.round, proposer: this.host.self,
      members: p.value.members, shadows: p.value.shadows });
  }

  #onAccept(msg: AcceptMsg): void {
    if (!this.#forCurrentTarget(msg)) return;
    const ballot = { round: msg.round, proposer: msg.proposer };
    if (this.#promised && compareBallot(ballot, this.#promised) < 0) {
      this.#reply(msg.sender, { kind: 'nack', target: msg.target, round: msg.round, proposer: msg.proposer,
        promisedRound: this.#promised.round, promisedProposer: this.#promised.proposer });
      return;
    }
    // Deferring stops lease grants at once; the vote itself waits for dropped holders' leases.
    this.#promised = ballot;
    if (this.host.now() < this.#acceptAllowedAtMs(msg.members)) {
      this.#deferredAccept = msg;
      return;
    }
    this.#accepted = { ballot, members: msg.members, shadows: msg.shadows };
    this.#reply(msg.sender, { kind: 'accepted', target: msg.target, round: msg.round, proposer: msg.proposer });
  }

  #onAccepted(msg: AcceptedMsg): void {
    const p = this.#proposal;
    if (!p || p.phase !== 'accept' || msg.target !== p.target || msg.round !== p.ballot.round ||
      msg.proposer !== this.host.self || !isMember(this.#view, msg.sender)) return;
    p.accepted.add(msg.sender);
    if (p.accepted.size < majority(this.#view.members.length)) return;
    const decided: View = { epoch: p.target, members: p.value.members, shadows: p.value.shadows };
    const old = this.#view;
    this.#install(decided);
    // Tell everyone of both views, and anyone waiting to join.
    const told = new Set<ActorId>([this.host.self]);
    for (const m of [...old.members, ...decided.members]) {
      if (!told.has(m.id)) {
        told.add(m.id);
        this.sendView(m.id);
      }
    }
    assert(this.#view.epoch === decided.epoch, `installed ${formatView(decided)}`);
  }

  #onNack(msg: NackMsg): void {
    this.#highestRoundSeen = Math.max(this.#highestRoundSeen, msg.promisedRound);
    const p = this.#proposal;
    if (!p || msg.target !== p.target || msg.round !== p.ballot.round || msg.proposer !== this.host.self) return;
    // Another proposer is ahead: back off for a random while, then retry with a higher round.
    this.#proposal = undefined;
    this.#nextProposalMs = this.host.now() + this.host.timing.proposalTimeoutMs * (0.5 + this.host.random());
  }

  // ---- Cold start ---------------------------------------------------------------------------

  /** The highest epoch this replica persisted, installed or promised. */
  #lastEpoch(): number {
    return Math.max(this.#persistedEpoch, this.#view.epoch, this.#floorEpoch);
  }

  /** Handles a cold-start membership message (see the class comment). */
  receiveColdStart(msg: ColdMembershipMessage): void {
    switch (msg.kind) {
      case 'cold-state':
        this.#onColdState(msg);
        return;
      case 'cold-prepare':
        this.#onColdPrepare(msg);
        return;
      case 'cold-promise':
        this.#onColdPromise(msg);
        return;
    }
  }

  #onColdState(msg: ColdStateMsg): void {
    if (this.host.self !== COLD_START_COORDINATOR || msg.sender >= this.host.universe) return;
    // A replica restarted while we are admitted: it joins as usual; our view helps it along.
    if (this.#admitted) {
      this.sendView(msg.sender, false);
      return;
    }
    this.#coldStates.set(msg.sender, { incarnation: msg.incarnation, lastEpoch: msg.lastEpoch });
  }

  /** Coordinator, not admitted: prepares a cold start once every other replica reported (again after a timeout). */
  #coldStartStep(): void {
    assert(!this.#admitted && this.host.self === COLD_START_COORDINATOR);
    const now = this.host.now();
    if (this.#coldStates.size < this.host.universe - 1) return;
    if (this.#coldPrepare && now - this.#coldPrepare.sentMs < this.host.timing.proposalTimeoutMs) return;
    let highest = this.#lastEpoch();
    for (const { lastEpoch } of this.#coldStates.values()) highest = Math.max(highest, lastEpoch);
    const target = highest + 1;
    // The coordinator promises too.
    this.#floorEpoch = target;
    this.#coldPrepare = { target, promises: new Map([[this.host.self, this.host.incarnation]]), sentMs: now };
    for (let id = 0; id < this.host.universe; id++) {
      if (id !== this.host.self) this.#send(id, { kind: 'cold-prepare', target });
    }
    this.#maybeDecideColdStart();
  }

  #onColdPrepare(msg: ColdPrepareMsg): void {
    if (this.#admitted || msg.sender !== COLD_START_COORDINATOR) return;
    // Above every epoch this replica acted in, and not below a promise already made.
    if (msg.target <= Math.max(this.#persistedEpoch, this.#view.epoch) || msg.target < this.#floorEpoch) return;
    this.#floorEpoch = msg.target;
    this.#send(msg.sender, { kind: 'cold-promise', target: msg.target, incarnation: this.host.incarnation });
  }

  #onColdPromise(msg: ColdPromiseMsg): void {
    const p = this.#coldPrepare;
    if (this.#admitted || !p || msg.target !== p.target || msg.sender >= this.host.universe) return;
    p.promises.set(msg.sender, msg.incarnation);
    this.#maybeDecideColdStart();
  }

  #maybeDecideColdStart(): void {
    const p = this.#coldPrepare;
    if (!p || p.promises.size < this.host.universe) return;
    const members = [...p.promises].map(([id, incarnation]) => ({ id, incarnation })).sort((a, b) => a.id - b.id);
    const view: View = { epoch: p.target, members, shadows: members.map((m) => m.id) };
    assert(isColdStartView(view) && view.epoch > this.#view.epoch, `cold-start view ${formatView(view)}`);
    this.stats.coldStartViews++;
    this.#install(view);
    assert(this.#admitted, 'the coordinator is a member of the cold-start view it formed');
    for (const m of members) if (m.id !== this.host.self) this.sendView(m.id);
  }

  /** Leases this replica holds and grants, for stats and tests. */
  leaseInfo(): { epoch: number; untilMs: number; voting: boolean } {
    return { epoch: this.#leaseEpoch, untilMs: this.#leaseUntilMs, voting: !this.#mayGrant() };
  }
}
