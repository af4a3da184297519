import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import type { HeartbeatMsg, JoinRequestMsg, KvMessage, ViewInfoMsg } from './messages.js';
import type { ColdMembershipMessage } from './cold-start-messages.js';
import { ColdStart } from './cold-start.js';
import { FailureDetector } from './failure-detector.js';
import { Leases } from './leases.js';
import type { Timing } from './timing.js';
import { ViewHistory } from './view-history.js';
import { ViewPaxos } from './view-paxos.js';
import { desiredView, isProposer } from './view-proposal.js';
import { incarnationOf, isMember, type Member, type View } from './view.js';

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
  /** When this replica last sent anything to `to` (a heartbeat is due only after a quiet spell). */
  lastSentMs(to: ActorId): number;
  /** A newer view was installed here; `wasAdmitted`: this replica was a member of the previous one. */
  installed(view: View, previous: View, wasAdmitted: boolean): void;
  /** Whether this replica is a ShadowReplica (admitted, still recovering). */
  recovering(): boolean;
}

/** Joiners remembered before a view admits them. */
const MAX_PENDING_JOINERS = 64;
/**
 * At start every member gets suspicionMs plus this many times this replica's own load before
 * it may be suspected: replicas start at different times and a peer may load slower (writing a
 * dataset of 50k keys took 0.3-1 s per replica with 9 threads on 2 cores).
 */
export const START_GRACE_LOADS = 5;
/**
 * A member admitted by a view may stay silent this many suspicion periods first: it has just
 * loaded its medium and joins its recovery (a GC of what it loaded took over 100 ms here), and
 * suspecting it costs a view change and a restarted recovery.
 */
export const ADMISSION_GRACE_SUSPICIONS = 5;
type Body = Record<string, unknown> & { kind: string };

/**
 * Membership of one replica (ARCHITECTURE.md §4): failure detection (failure-detector.ts), read
 * leases (leases.ts), views agreed by a single-decree Paxos per epoch among the members of the
 * previous view (view-paxos.ts; the view proposed: view-proposal.ts), admission of restarted
 * replicas under a new incarnation, and the cold start of the whole cluster (cold-start.ts). Proposals move on messages: a join
 * request is proposed at once, and a suspicion as soon as a tick sees it.
 *
 * The lowest-id member a replica does not suspect proposes; the others vote. A view keeps a
 * majority of the old one reachable, or it is never decided.
 *
 * Owned by the replica's thread.
 */
export class Membership {
  #view: View;
  /** Whether this incarnation is a member of `#view` (false while joining). */
  #admitted: boolean;
  readonly #detector: FailureDetector;
  readonly #leases: Leases;
  readonly #paxos: ViewPaxos;
  readonly #coldStart: ColdStart;
  readonly #joiners = new Map<ActorId, number>();
  /** By member: its incarnation in the view that the runtime saw end (see peerDown). */
  readonly #ended = new Map<ActorId, number>();
  /** Members whose heartbeats said they finished recovering, by the incarnation that said it. */
  readonly #full = new Map<ActorId, number>();
  #lastHeartbeatMs = -Infinity;
  #lastJoinMs = -Infinity;
  readonly #viewSentTo = new Map<ActorId, number>();
  readonly #history = new ViewHistory();
  readonly #stats = { viewsInstalled: 0, staleViewReplies: 0, peersDown: 0 };

  constructor(readonly host: MembershipHost) {
    const members = Array.from({ length: host.universe }, (_, id) => ({ id, incarnation: 0 }));
    this.#view = { epoch: 1, members, shadows: [] };
    // A first start on media that installed a view before (a new process on an old data
    // directory) is a cold start, not the initial view: the media may differ.
    this.#admitted = host.incarnation === 0 && host.persistedEpoch === 0;
    this.#coldStart = new ColdStart(
      {
        self: host.self,
        universe: host.universe,
        incarnation: host.incarnation,
        timing: host.timing,
        now: () => host.now(),
        view: () => this.#view,
        admitted: () => this.#admitted,
        send: (to, body) => this.#send(to, body),
        sendView: (to) => this.sendView(to, false),
        decided: (view) => this.#decided(view),
      },
      host.persistedEpoch,
    );
    if (this.#admitted) {
      // The initial view is installed too: a later process on these media must see one was.
      host.persistEpoch(this.#view.epoch);
      this.#coldStart.persisted(this.#view.epoch);
      this.#history.installed(this.#view.epoch, host.now(), members);
    }
    this.#detector = new FailureDetector(host.universe, host.self, host.timing.suspicionMs);
    const graceMs = host.now() + host.timing.suspicionMs + START_GRACE_LOADS * host.loadMs;
    for (const m of members) this.#detector.startClock(m.id, graceMs);
    this.#leases = new Leases({
      self: host.self,
      timing: host.timing,
      now: () => host.now(),
      send: (to, body) => this.#send(to, body),
    });
    this.#paxos = new ViewPaxos({
      self: host.self,
      timing: host.timing,
      now: () => host.now(),
      random: () => host.random(),
      view: () => this.#view,
      admitted: () => this.#admitted,
      send: (to, body) => this.#send(to, body),
      sendView: (to, force) => this.sendView(to, force),
      voteAllowedAtMs: (members) => this.#leases.voteAllowedAtMs(this.#view, members, this.#ended),
      decided: (view) => this.#decided(view),
      learned: (view) => this.#installNewer(view),
    });
  }

  get view(): View {
    return this.#view;
  }

  /** A member of the installed view under this incarnation. */
  get admitted(): boolean {
    return this.#admitted;
  }

  get stats(): Record<string, number> {
    return {
      ...this.#stats,
      ...this.#paxos.stats,
      ...this.#leases.stats,
      ...this.#coldStart.stats,
      peakSilenceMs: this.#detector.peakSilenceMs(this.host.now()),
      ...this.#history.stats(),
    };
  }

  /** Reads are allowed only under a majority lease for the current epoch. */
  holdsLease(): boolean {
    return this.#leases.holds(this.#view, this.#admitted);
  }

  heard(from: ActorId): void {
    this.#detector.heard(from, this.host.now());
  }

  /**
   * The runtime saw incarnation `incarnation` of `peer` end (Actor.peerDown): if the view holds
   * it, it is suspected now, whatever its silence so far, and the proposer removes it at once.
   */
  peerDown(peer: ActorId, incarnation: number): void {
    if (peer === this.host.self || incarnationOf(this.#view, peer) !== incarnation) return;
    this.#ended.set(peer, incarnation);
    this.#stats.peersDown++;
    if (this.#admitted) this.#maybePropose();
  }

  /**
   * Silent past its timeout (see FailureDetector), or restarted: a member asking to join under
   * a new incarnation is not the incarnation the view holds (its messages prove nothing about it).
   */
  suspects(id: ActorId): boolean {
    const incarnation = incarnationOf(this.#view, id);
    const joining = this.#joiners.get(id);
    if (joining !== undefined && joining !== incarnation) return true;
    if (incarnation !== undefined && this.#ended.get(id) === incarnation) return true;
    return this.#detector.suspects(id, this.host.now(), this.#view.members);
  }

  /**
   * Periodic work: heartbeats, lease renewal, joining, deferred votes, proposals. A replica
   * that is not admitted asks to join only when `mayJoin` (its recovery strategy decides).
   */
  tick(mayJoin = true): void {
    const now = this.host.now();
    if (!this.#admitted) {
      if (mayJoin && now - this.#lastJoinMs >= this.host.timing.joinRetryMs) {
        this.#lastJoinMs = now;
        for (let id = 0; id < this.host.universe; id++) {
          if (id !== this.host.self)
            this.#send(id, { kind: 'join-request', incarnation: this.host.incarnation });
        }
      }
      this.#coldStart.tick();
      return;
    }
    if (now - this.#lastHeartbeatMs >= this.host.timing.heartbeatMs) this.heartbeat(false);
    if (this.#leases.renewalDue()) this.#leases.request(this.#view, this.#paxos.voting);
    this.#paxos.tick();
    this.#maybePropose();
  }

  /**
   * Tells the other members that this replica is alive, and whether it still recovers: to
   * those it sent nothing for a heartbeat period, or (`all`) to every one at once.
   */
  heartbeat(all = true): void {
    const now = this.host.now();
    this.#lastHeartbeatMs = now;
    const quietMs = this.host.timing.heartbeatMs;
    for (const m of this.#view.members) {
      if (m.id === this.host.self || (!all && now - this.host.lastSentMs(m.id) < quietMs)) continue;
      this.#send(m.id, { kind: 'heartbeat', recovering: this.host.recovering() });
    }
  }

  /**
   * A heartbeat of the current epoch from a member (the caller checked both). True when it is
   * the first news that a shadow of the view finished recovering: clients should hear of it.
   */
  onHeartbeat(msg: HeartbeatMsg): boolean {
    const incarnation = incarnationOf(this.#view, msg.sender);
    assert(
      incarnation !== undefined,
      `heartbeat of epoch ${msg.epoch} from ${msg.sender}, a member of it`,
    );
    if (msg.recovering) {
      this.#full.delete(msg.sender);
      return false;
    }
    const news = this.#full.get(msg.sender) !== incarnation;
    this.#full.set(msg.sender, incarnation);
    return news && this.#view.shadows.includes(msg.sender);
  }

  /** The view as clients should see it: its shadows less those known to have finished recovering. */
  clientView(): View {
    const view = this.#view;
    const shadows = view.shadows.filter((id) => {
      const m = view.members.find((member) => member.id === id);
      return m === undefined || !this.#knownFull(m);
    });
    return shadows.length === view.shadows.length ? view : { ...view, shadows };
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
        this.#leases.onRequest(msg, this.#view, this.#admitted, this.#paxos.voting);
        return true;
      case 'lease-grant':
        this.#leases.onGrant(msg, this.#view);
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
        this.#paxos.onPrepare(msg);
        return true;
      case 'promise':
        this.#paxos.onPromise(msg);
        return true;
      case 'accept':
        this.#paxos.onAccept(msg);
        return true;
      case 'accepted':
        this.#paxos.onAccepted(msg);
        return true;
      case 'nack':
        this.#paxos.onNack(msg);
        return true;
      default:
        return false;
    }
  }

  /** Handles a cold-start membership message (see cold-start.ts). */
  receiveColdStart(msg: ColdMembershipMessage): void {
    this.#coldStart.receive(msg);
  }

  /** Tells `to` our view (it is behind); without `force`, at most once per epoch per peer. */
  sendView(to: ActorId, force = true): void {
    if (!force && this.#viewSentTo.get(to) === this.#view.epoch) return;
    this.#viewSentTo.set(to, this.#view.epoch);
    this.#stats.staleViewReplies++;
    this.#send(to, {
      kind: 'view',
      members: [...this.#view.members],
      shadows: [...this.#view.shadows],
    });
  }

  #send(to: ActorId, body: Body): void {
    this.host.send(to, { ...body, epoch: this.#view.epoch, sender: this.host.self } as KvMessage);
  }

  // ---- Views ----------------------------------------------------------------------------------

  #onView(msg: ViewInfoMsg): void {
    this.#installNewer({ epoch: msg.epoch, members: msg.members, shadows: msg.shadows });
  }

  /** Installs a view decided elsewhere (told or learned), if it is newer than this one. */
  #installNewer(view: View): void {
    if (view.epoch <= this.#view.epoch || view.epoch < this.#coldStart.floorEpoch) return;
    this.#install(view);
  }

  /** Decided here (by Paxos or a cold start): installed, and everyone of both views told. */
  #decided(view: View): void {
    const old = this.#view;
    this.#install(view);
    const told = new Set<ActorId>([this.host.self]);
    for (const m of [...old.members, ...view.members]) {
      if (told.has(m.id)) continue;
      told.add(m.id);
      this.sendView(m.id);
    }
  }

  #install(view: View): void {
    assert(
      view.epoch > this.#view.epoch,
      `views only move forward (${view.epoch} after ${this.#view.epoch})`,
    );
    assert(
      view.epoch >= this.#coldStart.floorEpoch,
      `a cold-start promise forbids installing epoch ${view.epoch} below ${this.#coldStart.floorEpoch}`,
    );
    // Durable before this replica acts in the view (a restarted replica may install an older
    // view than it persisted, as a non-member: the persisted epoch never goes back).
    if (view.epoch > this.#coldStart.persistedEpoch) {
      this.host.persistEpoch(view.epoch);
      this.#coldStart.persisted(view.epoch);
    }
    this.#coldStart.viewInstalled();
    const previous = this.#view;
    this.#view = view;
    this.#stats.viewsInstalled++;
    const now = this.host.now();
    this.#history.installed(view.epoch, now, view.members);
    const wasAdmitted = this.#admitted;
    this.#admitted = incarnationOf(view, this.host.self) === this.host.incarnation;
    this.#paxos.reset();
    this.#leases.viewInstalled(previous, view, wasAdmitted, this.#admitted);
    for (const [id, incarnation] of [...this.#full])
      if (incarnationOf(view, id) !== incarnation) this.#full.delete(id);
    for (const [id, incarnation] of [...this.#ended])
      if (incarnationOf(view, id) !== incarnation) this.#ended.delete(id);
    for (const m of view.members) {
      // A replica admitted now heard nobody while it waited: it starts every member's clock.
      if (!wasAdmitted) this.#detector.startClock(m.id, now);
      else if (incarnationOf(previous, m.id) !== m.incarnation) {
        this.#detector.startClock(
          m.id,
          now + (ADMISSION_GRACE_SUSPICIONS - 1) * this.host.timing.suspicionMs,
        );
      }
      if (this.#joiners.get(m.id) === m.incarnation) this.#joiners.delete(m.id);
    }
    this.host.installed(view, previous, wasAdmitted);
    // A change that waited for this view (another joiner, a member suspected meanwhile) goes on now.
    if (this.#admitted) this.#maybePropose();
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
    // Admission moves on messages: the proposer proposes at once, not at its next tick.
    this.#maybePropose();
  }

  #maybePropose(): void {
    const suspects = (id: ActorId): boolean => this.suspects(id);
    if (!this.#paxos.mayPropose() || !isProposer(this.#view, this.host.self, suspects)) return;
    this.#paxos.propose(
      desiredView({
        self: this.host.self,
        view: this.#view,
        joiners: this.#joiners,
        suspects,
        knownFull: (m) => this.#knownFull(m),
      }),
    );
  }

  /** Leases this replica holds, and whether it is about to vote or voted (no grants), for stats and tests. */
  leaseInfo(): { epoch: number; untilMs: number; voting: boolean } {
    return { ...this.#leases.info(), voting: this.#paxos.voting };
  }

  /** Whether `id` is a member of this replica's installed view. */
  isMember(id: ActorId): boolean {
    return isMember(this.#view, id);
  }
}
