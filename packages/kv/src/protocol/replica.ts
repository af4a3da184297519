import assert from 'node:assert/strict';
import type { Actor, ActorContext, ActorId } from '@heal/actors/core';
import type { KeyRecord } from '../storage/key-record.js';
import type { KvStorage } from '../storage/kv-storage.js';
import { ClientService } from './client-service.js';
import { isColdStartMessage, type ColdStartMessage } from './cold-start-messages.js';
import type { PartiallyPersisted } from './dp-trackers.js';
import { EpochGate } from './epoch-gate.js';
import { KV_MESSAGES, LIVENESS_KINDS, type KvMessage, type StrategyMessage } from './messages.js';
import { loadMedium } from './medium-load.js';
import { Membership } from './membership.js';
import { receivePersistMessage } from './persist-messages.js';
import { RecoveryHost } from './recovery-host.js';
import type {
  RecoveryReport,
  RecoveryStrategy,
  RecoveryStrategyFactory,
} from './recovery-strategy.js';
import { Replication } from './replication.js';
import { Reconciliation } from './reconciliation.js';
import type { ReplicaConfig } from './replica-config.js';
import { replicaStats } from './replica-stats.js';
import { assertRoleChange, isRecovering, type ReplicaRole } from './replica-role.js';
import { isColdStartView, isMember, type View } from './view.js';

export type { ReplicaConfig } from './replica-config.js';
export { MAX_KNOWN_CLIENTS } from './client-service.js';

/** Every message a replica may receive: the protocol's and its recovery strategy's. */
export type KvWire = KvMessage | StrategyMessage;

const TICK_TAG = 1;
const KV_KINDS = new Set(KV_MESSAGES.map((d) => d.kind));
function isKvMessage(msg: KvWire): msg is KvMessage {
  return KV_KINDS.has(msg.kind);
}

/**
 * One replica of the store: an actor composed of membership (views, leases), the Hermes data
 * plane (replication), client requests (client-service.ts) and a recovery strategy. What it
 * does depends on its role (replica-role.ts): full, shadow (recovering through its strategy),
 * reconciling (after a cold start) or joining (not a member). A view install or a finished
 * recovery changes the role, and only through #becomeRole.
 */
export class Replica implements Actor<KvWire, KvStorage> {
  #ctx!: ActorContext<KvWire, KvStorage>;
  #membership!: Membership;
  #replication!: Replication;
  #strategy!: RecoveryStrategy;
  #clients!: ClientService;
  #recovery!: RecoveryHost;
  #epochs!: EpochGate;
  #role: ReplicaRole = 'joining';
  /** Set when a cold-start view admitted this incarnation (see reconciliation.ts). */
  #reconciliation: Reconciliation | undefined;
  #startedMs = 0;
  /** The CPU clock at this incarnation's start, and what it had used when it became full. */
  #startedCpuMs = NaN;
  #recoveryCpuMs = NaN;
  #loadedMs = 0;
  /** By replica id: when this replica last sent it anything. */
  #lastSentMs!: Float64Array;
  /** A first start is admitted by the initial view (epoch 1). */
  #admittedEpoch = 1;
  readonly #counters = { recoveries: 0, coldStarts: 0 };

  constructor(
    readonly self: ActorId,
    readonly config: ReplicaConfig,
    readonly strategyFactory: RecoveryStrategyFactory,
  ) {}

  get view(): View {
    return this.#membership.view;
  }

  get role(): ReplicaRole {
    return this.#role;
  }

  /** Whether this replica serves reads and coordinates writes. */
  get full(): boolean {
    return this.#role === 'full';
  }

  /** A member still catching up (ShadowReplica, or reconciling after a cold start). */
  get recovering(): boolean {
    return isRecovering(this.#role);
  }

  /** 0 at first start; every restart increments it. */
  get incarnation(): number {
    return this.#ctx.incarnation;
  }

  /** Epoch of the view that admitted this incarnation (undefined while it is not admitted). */
  get admittedEpoch(): number | undefined {
    return this.#membership.admitted ? this.#admittedEpoch : undefined;
  }

  get records(): ReadonlyMap<string, KeyRecord> {
    return this.#replication.records;
  }

  holdsLease(): boolean {
    return this.#membership.holdsLease();
  }

  /** When the read lease this replica holds ends, on its clock (-Infinity: none yet). */
  get leaseUntilMs(): number {
    return this.#membership.leaseInfo().untilMs;
  }

  /** Writes this incarnation coordinated (started) so far. */
  get writesStarted(): number {
    return this.#replication.stats.writesStarted;
  }

  /** Own writes and replays waiting for ACKs. */
  get pendingWrites(): number {
    return this.#replication.pendingWrites;
  }

  get invalidKeys(): number {
    return this.#replication.invalidKeys;
  }

  start(ctx: ActorContext<KvWire, KvStorage>): void {
    this.#ctx = ctx;
    this.#lastSentMs = new Float64Array(this.config.replicas).fill(-Infinity);
    // The recovery host's getters run with `this` bound to the host object, not the replica.
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- see above
    const replica = this;
    const { timing } = this.config;
    this.#replication = new Replication({
      self: this.self,
      timing,
      storage: ctx.storage,
      model: this.config.model ?? 'synch',
      readWhileInvalid: this.config.faults?.readWhileInvalid === true,
      view: () => replica.#membership.view,
      now: () => replica.#ctx.now(),
      send: (to, msg) => replica.#send(to, msg),
      replyPut: (ref, ts) => replica.#clients.replyPut(ref, ts),
      replyGet: (ref, value) => replica.#clients.queueGetReply(ref, value),
      replyBusy: (ref) => replica.#clients.replyBusy(ref),
      replyNotServing: (ref) => replica.#clients.notServing(ref),
      applied: (record, previous) =>
        replica.#strategy.onApply?.(replica.#recovery.context(), record, previous),
      committed: (record) => replica.#strategy.onCommit?.(replica.#recovery.context(), record),
    });
    this.#clients = new ClientService({
      self: this.self,
      role: () => replica.#role,
      view: () => replica.#membership.view,
      holdsLease: () => replica.#membership.holdsLease(),
      suspects: (id) => replica.#membership.suspects(id),
      replication: this.#replication,
      send: (to, msg) => replica.#ctx.send(to, msg),
      shadowServesReads: this.config.faults?.shadowServesReads === true,
    });
    this.#strategy = this.strategyFactory.create(this.self, this.config.strategyOptions ?? {});
    this.#recovery = new RecoveryHost({
      self: this.self,
      timing,
      get startedMs() {
        return replica.#startedMs;
      },
      get loadedMs() {
        return replica.#loadedMs;
      },
      ctx: () => replica.#ctx,
      role: () => replica.#role,
      get membership() {
        return replica.#membership;
      },
      replication: this.#replication,
      finished: () => replica.#becomeFull(),
    });
    this.#startedCpuMs = ctx.cpuMs();
    this.#startedMs = ctx.now();
    this.#recovery.loadedDigest = loadMedium(
      ctx.storage,
      ctx.incarnation,
      this.config.dataset,
      this.#replication,
    );
    this.#loadedMs = ctx.now();
    this.#membership = new Membership({
      self: this.self,
      incarnation: ctx.incarnation,
      universe: this.config.replicas,
      timing,
      loadMs: this.#loadedMs - this.#startedMs,
      persistedEpoch: ctx.storage.loadEpoch(),
      persistEpoch: (epoch) => replica.#ctx.storage.saveEpoch(epoch),
      now: () => replica.#ctx.now(),
      random: () => replica.#ctx.random(),
      send: (to, msg) => replica.#send(to, msg),
      lastSentMs: (to) => replica.#lastSentMs[to] as number,
      installed: (view, previous, wasAdmitted) => replica.#installed(view, previous, wasAdmitted),
      recovering: () => isRecovering(replica.#role),
    });
    this.#epochs = new EpochGate(this.self, this.#membership, (to, msg) =>
      replica.#ctx.send(to, msg),
    );
    // A first start on empty media is admitted by the initial view: full at once.
    if (this.#membership.admitted) this.#role = 'full';
    this.#strategy.onStart?.(this.#recovery.context());
    this.#recovery.loadedDigest = undefined; // read by onStart only (32 KiB)
    // The first tick now, not at a zero timer (a turn of the worker's event loop, 2-4 ms on
    // threads): a restarted replica asks to join as soon as its medium is loaded.
    this.tick(TICK_TAG, ctx);
  }

  /**
   * Sends to a replica. Heartbeats go only where no other message the receiver counts as a sign
   * of life (LIVENESS_KINDS) went for a while: a stream of view answers says nothing there.
   */
  #send(to: ActorId, msg: KvWire): void {
    if (LIVENESS_KINDS.has(msg.kind)) this.#lastSentMs[to] = this.#ctx.now();
    this.#ctx.send(to, msg);
  }

  receive(msg: KvWire, ctx: ActorContext<KvWire, KvStorage>): void {
    this.#ctx = ctx;
    const fromReplica = msg.sender < this.config.replicas;
    if (!fromReplica) this.#clients.heardFrom(msg.sender);
    if (isColdStartMessage(msg)) {
      if (fromReplica) this.#onColdStart(msg);
      return;
    }
    if (fromReplica && LIVENESS_KINDS.has(msg.kind)) this.#membership.heard(msg.sender);
    if (!isKvMessage(msg)) {
      this.#strategy.receive(this.#recovery.context(), msg);
      return;
    }
    switch (msg.kind) {
      case 'get':
        this.#clients.onGets(msg.sender, msg.items);
        return;
      case 'put':
        this.#clients.onPut(msg);
        return;
      case 'forward-put':
        this.#clients.onForwardPut(msg);
        return;
      case 'persist-scope':
        this.#clients.onPersistScope(msg);
        return;
      case 'persisted':
      case 'durable':
      case 'persist-request':
      case 'scope-sync':
      case 'scope-ok':
        if (this.#epochs.current(msg)) receivePersistMessage(this.#replication.durability, msg);
        return;
      case 'inv':
      case 'ack':
      case 'val':
        if (!this.#epochs.current(msg)) return;
        if (msg.kind === 'inv') this.#replication.onInv(msg);
        else if (msg.kind === 'ack') this.#replication.onAck(msg);
        else this.#replication.onVal(msg);
        return;
      case 'heartbeat':
        if (
          this.#epochs.current(msg) &&
          this.#membership.onHeartbeat(msg) &&
          this.#membership.admitted
        )
          this.#clients.tellClients(this.#membership.clientView());
        return;
      default:
        this.#membership.receive(msg);
    }
  }

  #onColdStart(msg: ColdStartMessage): void {
    switch (msg.kind) {
      case 'cold-pull':
        this.#membership.heard(msg.sender);
        this.#reconciliation?.onPull(msg);
        return;
      case 'cold-records':
        this.#membership.heard(msg.sender);
        if (this.#reconciliation?.onRecords(msg) === true) this.#finishColdStart();
        return;
      default:
        // Sent by replicas that are not admitted: they say nothing of the incarnation a view
        // holds, so they must not keep it from being suspected (a restarted replica whose
        // strategy holds its join back stays silent until the view drops its old incarnation).
        this.#membership.receiveColdStart(msg);
    }
  }

  peerDown(peer: ActorId, incarnation: number, ctx: ActorContext<KvWire, KvStorage>): void {
    this.#ctx = ctx;
    if (peer < this.config.replicas) this.#membership.peerDown(peer, incarnation);
  }

  /** After a batch of handlers: syncs as the model says, then sends what must follow it. */
  flush(ctx: ActorContext<KvWire, KvStorage>): void {
    this.#ctx = ctx;
    this.#replication.flush();
    this.#clients.sendGetReplies();
  }

  /**
   * The Partially-persisted list (writes this replica coordinated, past VP, not yet at DP);
   * one entry per key, the latest such write. Recovery reads it.
   */
  partiallyPersisted(): Iterable<PartiallyPersisted> {
    return this.#replication.durability.trackers.partiallyPersisted();
  }

  /** What the last recovery of this replica did, once it serves reads (undefined before). */
  recoveryReport(): RecoveryReport | undefined {
    if (isRecovering(this.#role)) return undefined;
    const report = this.#strategy.report?.();
    const cpuMs = this.#recoveryCpuMs;
    return report && Number.isFinite(cpuMs) ? { ...report, cpuMs } : report;
  }

  tick(tag: number, ctx: ActorContext<KvWire, KvStorage>): void {
    this.#ctx = ctx;
    if (tag !== TICK_TAG) throw new Error(`replica ${this.self}: unknown timer tag ${tag}`);
    const role = this.#role;
    this.#membership.tick(
      role !== 'joining' || (this.#strategy.readyToJoin?.(this.#recovery.context()) ?? true),
    );
    // Only a full replica replays keys left Invalid: a recovering one may still receive them.
    if (role !== 'joining') this.#replication.tick(role === 'full');
    if (role === 'reconciling') this.#reconciliation?.tick();
    this.#strategy.tick(this.#recovery.context());
    this.#clients.serveLeaseWaiters();
    ctx.setTimer(this.config.timing.tickMs, TICK_TAG);
  }

  /** Whether it is admitted and whether it still recovers: what a wait for recovery polls. */
  status(): Record<string, number> {
    return {
      admitted: this.#membership.admitted ? 1 : 0,
      recovering: isRecovering(this.#role) ? 1 : 0,
    };
  }

  stats(): Record<string, number> {
    return replicaStats({
      counters: { ...this.#epochs.stats, ...this.#counters },
      clients: this.#clients,
      replication: this.#replication,
      membership: this.#membership,
      strategy: this.#strategy,
      reconciliation: this.#reconciliation,
      recovering: isRecovering(this.#role),
      nowMs: this.#ctx.now(),
      storage: this.#ctx.storage,
      recoveryReport: () => this.recoveryReport(),
    });
  }

  /** `wasAdmitted`: by the previous view (a first start on old media was not, though it is listed there). */
  #installed(view: View, previous: View, wasAdmitted: boolean): void {
    const admitted = this.#membership.admitted;
    assert(
      !admitted || isMember(view, this.self),
      `replica ${this.self} is admitted by a view that lists it`,
    );
    assert.equal(
      wasAdmitted,
      this.#role !== 'joining',
      `replica ${this.self} was admitted iff it was not joining`,
    );
    const wasFull = this.#role === 'full';
    // Admitted by a cold start (every replica restarted): reconciles with every member instead
    // of recovering from a full one (there is none). Admitted otherwise, after a restart or a
    // removal: a ShadowReplica until its recovery strategy finishes. A replica asks to join only
    // once it installed a view without it, so admission always follows a view that did not
    // admit it (a later view may still list it a shadow).
    const coldStart = admitted && !wasAdmitted && isColdStartView(view);
    const readmitted = admitted && !coldStart && !wasAdmitted;
    if (!admitted) {
      if (this.#role !== 'joining') this.#becomeRole('joining');
      this.#reconciliation?.stopPulling();
    } else if (!wasAdmitted) {
      this.#admittedEpoch = view.epoch;
      this.#becomeRole(coldStart ? 'reconciling' : 'shadow');
      if (coldStart) this.#counters.coldStarts++;
      else this.#counters.recoveries++;
    }
    // Installing the view re-evaluates DPs (a write may reach DP once a member is gone):
    // recovery wants what was not at DP in the old view, so that is taken first.
    const undurable = [...this.#replication.notDurable()];
    this.#replication.viewInstalled(
      view,
      this.#role === 'full',
      !admitted || readmitted || coldStart,
    );
    const ctx = this.#recovery.context();
    this.#recovery.duringViewInstall(undurable, () =>
      this.#strategy.onViewInstalled(ctx, previous, wasFull),
    );
    if (readmitted) this.#strategy.onAdmitted(ctx);
    if (coldStart) this.#startReconciliation(view);
    if (admitted) this.#clients.tellClients(this.#membership.clientView());
  }

  #becomeRole(to: ReplicaRole): void {
    assertRoleChange(this.#role, to, this.self);
    this.#role = to;
  }

  #startReconciliation(view: View): void {
    this.#reconciliation = new Reconciliation(
      {
        self: this.self,
        timing: this.config.timing,
        now: () => this.#ctx.now(),
        send: (to, body) =>
          this.#send(to, {
            ...body,
            epoch: this.#membership.view.epoch,
            sender: this.self,
          } as KvWire),
        records: () => this.#replication.records,
        install: (entry, from) => this.#replication.installRecovered(entry, from),
      },
      view,
    );
    // A cluster of one has nobody to pull from.
    if (!this.#reconciliation.pulling) this.#finishColdStart();
  }

  /** Pulled every member's records: every key is at the highest ts any medium kept, or later. */
  #finishColdStart(): void {
    if (this.#role !== 'reconciling') return;
    // What it pulled is durable before it serves, as after any recovery.
    this.#replication.durability.syncNow();
    this.#becomeFull();
  }

  /** A recovering replica becomes full: it finishes its own leftovers and tells the members now. */
  #becomeFull(): void {
    this.#recoveryCpuMs = this.#ctx.cpuMs() - this.#startedCpuMs;
    this.#becomeRole('full');
    this.#replication.replayAllInvalid();
    this.#membership.heartbeat();
    this.#clients.tellClients(this.#membership.clientView());
  }
}
