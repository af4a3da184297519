import assert from 'node:assert/strict';
import type { Actor, ActorContext, ActorId, ByteString } from '@heal/actors/core';
import type { KeyRecord } from '../storage/key-record.js';
import { datasetIndex, datasetRecords, type DatasetSpec } from '../storage/dataset.js';
import type { KvStorage } from '../storage/kv-storage.js';
import { isColdStartMessage, type ColdStartMessage } from './cold-start-messages.js';
import type { PartiallyPersisted, PersistencyModel } from './durability.js';
import {
  KV_MESSAGES, type ForwardPutMsg, type GetItem, type GetOkItem, type KvMessage,
  type PersistMessage, type PutMsg, type StrategyMessage,
} from './messages.js';
import { drainMap } from './drain-map.js';
import { getBatches } from './get-batches.js';
import { Membership } from './membership.js';
import type { RecoveryContext, RecoveryReport, RecoveryStrategy, RecoveryStrategyFactory, StrategyOptions } from './recovery-strategy.js';
import { MAX_WAITING_OPS, Replication, SEQ_INCARNATION_STRIDE, type ClientRef } from './replication.js';
import { Reconciliation } from './reconciliation.js';
import { RequestDedup } from './request-dedup.js';
import type { Timing } from './timing.js';
import { isColdStartView, isMember, type View } from './view.js';

/** A recovery report as numeric stats (threads read stats), `recovery.` keys; see unflattenReport. */
function flattenReport(report: RecoveryReport | undefined): Record<string, number> {
  if (!report) return {};
  const out: Record<string, number> = {
    'recovery.incarnation': report.incarnation, 'recovery.startedMs': report.startedMs, 'recovery.recoveryMs': report.recoveryMs,
    'recovery.bytesMoved': report.bytesMoved, 'recovery.entriesReceived': report.entriesReceived,
    'recovery.entriesApplied': report.entriesApplied,
  };
  for (const [k, v] of Object.entries(report.phasesMs)) out[`recovery.phase.${k}`] = v;
  for (const [k, v] of Object.entries(report.counts)) out[`recovery.count.${k}`] = v;
  return out;
}

/** What opening the medium found and cost, as stats (`medium.` keys). */
function mediumReport(report: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(report)) out[`medium.${k}`] = v;
  return out;
}

/** Every message a replica may receive: the protocol's and its recovery strategy's. */
export type KvWire = KvMessage | StrategyMessage;

export interface ReplicaConfig {
  /** Replica ids are 0..replicas-1; ids above are clients. */
  replicas: number;
  timing: Timing;
  /** Name of the recovery strategy (one the module was built with). */
  strategy: string;
  /** Parameters of the recovery strategy (each strategy documents and checks its own). */
  strategyOptions?: StrategyOptions;
  medium: 'volatile' | 'memory-durable' | 'wal' | 'pmem';
  /** Persistency model (DESIGN section 4); default 'synch'. */
  model?: PersistencyModel;
  /**
   * Directory of the file-backed media (`wal`, `pmem`), one entry per replica:
   * `${dataDir}/replica-${id}.wal` (a directory) or `${dataDir}/replica-${id}.pmem`. Ignored
   * by the memory media.
   */
  dataDir?: string;
  /** Records a new `pmem` table holds (default PMEM_CAPACITY_DEFAULT); small ones format fast. */
  pmemCapacity?: number;
  /** Largest value a new `pmem` table holds (default PMEM_VALUE_BYTES_MAX_DEFAULT); sizes its slots. */
  pmemValueBytesMax?: number;
  /** `pmem` persist-cost model (Optane flush and fence latencies): default on, false turns it off. */
  pmemLatency?: boolean;
  /**
   * `pmem`: keep the durable image a simulated power failure rewrites the file from (default
   * true). The thread runtime never simulates one and turns it off: no copy of the file at open
   * nor of the flushed lines at each fence.
   */
  pmemCrashSimulation?: boolean;
  /**
   * Initial contents: a replica at its first start whose medium is empty writes the dataset
   * to it (a restarted one keeps what its medium kept).
   */
  dataset?: DatasetSpec;
  /**
   * Test-only fault injection, to prove the checker catches a broken protocol: reads served
   * while a key is Invalid, or by a ShadowReplica (before its recovery finished).
   */
  faults?: { readWhileInvalid?: boolean; shadowServesReads?: boolean };
}

const TICK_TAG = 1;
const valueBytes = (item: GetOkItem): number => item.value.length;
const KV_KINDS = new Set(KV_MESSAGES.map((d) => d.kind));

function isKvMessage(msg: KvWire): msg is KvMessage {
  return KV_KINDS.has(msg.kind);
}

/**
 * One replica of the store: an actor composed of membership (views, leases), the Hermes data
 * plane (replication), client request handling, and a recovery strategy. Roles: a full
 * replica serves reads under a lease and coordinates writes; a ShadowReplica (admitted, still
 * recovering) acks writes and forwards client writes; a joining replica (not in the view) only
 * asks to be admitted.
 */
export class Replica implements Actor<KvWire, KvStorage> {
  #ctx!: ActorContext<KvWire, KvStorage>;
  #membership!: Membership;
  #replication!: Replication;
  #strategy!: RecoveryStrategy;
  #recovering = false;
  /** Set when a cold-start view admitted this incarnation (see reconciliation.ts). */
  #reconciliation: Reconciliation | undefined;
  #startedMs = 0;
  #loadedMs = 0;
  /** The bucket lanes of the digest the medium kept of the records loaded at start (see RecoveryContext). */
  #loadedDigest: Uint32Array | undefined;
  /** A first start is admitted by the initial view (epoch 1). */
  #admittedEpoch = 1;
  readonly #leaseWaiters: { ref: ClientRef; key: string }[] = [];
  /** Answers to reads by client, sent in `flush` (see MAX_GET_ITEMS). */
  readonly #getReplies = new Map<ActorId, GetOkItem[]>();
  readonly #viewRequested = new Map<ActorId, number>();
  readonly #dedup = new RequestDedup();
  readonly #counters = {
    staleDropped: 0, futureDropped: 0, forwarded: 0, notServing: 0, recoveries: 0, duplicateRequests: 0, coldStarts: 0,
  };

  constructor(
    readonly self: ActorId,
    readonly config: ReplicaConfig,
    readonly strategyFactory: RecoveryStrategyFactory,
  ) {}

  get view(): View {
    return this.#membership.view;
  }

  /** Whether this replica serves reads and coordinates writes (admitted, not recovering). */
  get full(): boolean {
    return this.#membership.admitted && !this.#recovering;
  }

  get recovering(): boolean {
    return this.#recovering;
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
      send: (to, msg) => replica.#ctx.send(to, msg),
      replyPut: (ref, ts) => replica.#ctx.send(ref.client, {
        kind: 'put-ok', epoch: 0, sender: replica.self, reqId: ref.reqId, version: ts.version, cid: ts.cid,
      }),
      replyGet: (ref, value) => replica.#queueGetReply(ref, value),
      replyBusy: (ref) => replica.#reply(ref.client, { kind: 'client-error', reqId: ref.reqId, reason: 'busy' }),
      replyNotServing: (ref) => replica.#notServing(ref),
      applied: (record, previous) => replica.#strategy.onApply?.(replica.#recoveryContext(), record, previous),
      committed: (record) => replica.#strategy.onCommit?.(replica.#recoveryContext(), record),
    });
    this.#strategy = this.strategyFactory.create(this.self, this.config.strategyOptions ?? {});
    this.#startedMs = ctx.now();
    this.#load(ctx);
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
      send: (to, msg) => replica.#ctx.send(to, msg),
      installed: (view, previous, wasAdmitted) => replica.#installed(view, previous, wasAdmitted),
      recovering: () => replica.#recovering,
    });
    this.#strategy.onStart?.(this.#recoveryContext());
    this.#loadedDigest = undefined; // read by onStart only (32 KiB)
    ctx.setTimer(timing.tickMs, TICK_TAG);
  }

  /**
   * Loads what the medium kept, in place (nothing per record: see Replication.load), and the
   * digest it kept of it. At a first start on an empty medium, the dataset is written to it and
   * made durable first; a medium that keeps nothing (volatile) leaves it held in memory, and no
   * digest (the strategy computes one from the records).
   */
  #load(ctx: ActorContext<KvWire, KvStorage>): void {
    const storage = ctx.storage;
    // Above every write number this replica handed out before (see SEQ_INCARNATION_STRIDE).
    const seqFloor = Math.max(storage.loadSeqHighWater(), ctx.incarnation * SEQ_INCARNATION_STRIDE);
    const spec = this.config.dataset;
    if (ctx.incarnation > 0 || storage.size > 0 || !spec || spec.keys === 0) {
      this.#replication.load(storage, seqFloor);
      this.#loadedDigest = storage.loadDigest();
      return;
    }
    for (const record of datasetRecords(spec)) storage.write(record);
    storage.sync();
    const isDatasetKey = (key: string): boolean => datasetIndex(spec, key) !== undefined;
    if (storage.size === spec.keys) {
      this.#replication.load(storage, seqFloor, isDatasetKey);
      this.#loadedDigest = storage.loadDigest();
    } else {
      this.#replication.loadRecords(datasetRecords(spec), seqFloor, isDatasetKey);
    }
  }

  receive(msg: KvWire, ctx: ActorContext<KvWire, KvStorage>): void {
    this.#ctx = ctx;
    const fromReplica = msg.sender < this.config.replicas;
    if (isColdStartMessage(msg)) {
      if (fromReplica) this.#onColdStart(msg);
      return;
    }
    if (fromReplica) this.#membership.heard(msg.sender);
    if (!isKvMessage(msg)) {
      this.#strategy.receive(this.#recoveryContext(), msg);
      return;
    }
    switch (msg.kind) {
      case 'get':
        this.#onGets(msg.sender, msg.items);
        return;
      case 'put':
        this.#onPut(msg);
        return;
      case 'forward-put':
        this.#onForwardPut(msg);
        return;
      case 'persist-scope':
        if (this.full) this.#replication.persistScope(msg);
        else this.#notServing({ client: msg.sender, reqId: msg.reqId });
        return;
      case 'persisted':
      case 'durable':
      case 'persist-request':
      case 'scope-sync':
      case 'scope-ok':
        if (this.#current(msg)) this.#onPersistMessage(msg);
        return;
      case 'inv':
      case 'ack':
      case 'val':
        if (!this.#current(msg)) return;
        if (msg.kind === 'inv') this.#replication.onInv(msg);
        else if (msg.kind === 'ack') this.#replication.onAck(msg);
        else this.#replication.onVal(msg);
        return;
      case 'heartbeat':
        if (this.#current(msg)) this.#membership.onHeartbeat(msg);
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

  #onPersistMessage(msg: PersistMessage): void {
    const durability = this.#replication.durability;
    switch (msg.kind) {
      case 'persisted':
        durability.onPersisted(msg.sender, msg.items);
        return;
      case 'durable':
        durability.onDurable(msg.items);
        return;
      case 'persist-request':
        durability.onPersistRequest(msg.sender, msg.items);
        return;
      case 'scope-sync':
        durability.onScopeSync(msg.sender, msg.scopeId, msg.items);
        return;
      case 'scope-ok':
        durability.onScopeOk(msg.sender, msg.scopeId, msg.ok);
        return;
    }
  }

  /** After a batch of handlers: syncs as the model says, then sends what must follow it. */
  flush(ctx: ActorContext<KvWire, KvStorage>): void {
    this.#ctx = ctx;
    this.#replication.flush();
    this.#sendGetReplies();
  }

  #queueGetReply(ref: ClientRef, value: ByteString | undefined): void {
    const item: GetOkItem = { reqId: ref.reqId, found: value !== undefined, value: value ?? '' };
    const queued = this.#getReplies.get(ref.client);
    if (queued) queued.push(item);
    else this.#getReplies.set(ref.client, [item]);
  }

  /** Each client's answered reads of this batch of handler calls, in get-oks of bounded size. */
  #sendGetReplies(): void {
    drainMap(this.#getReplies, (items, client) => {
      for (const batch of getBatches(items, valueBytes)) {
        this.#ctx.send(client, { kind: 'get-ok', epoch: 0, sender: this.self, items: batch });
      }
    });
  }

  /**
   * The Partially-persisted list (writes this replica coordinated, past VP, not yet at DP);
   * one entry per key, the latest such write. Recovery reads it.
   */
  partiallyPersisted(): Iterable<PartiallyPersisted> {
    return this.#replication.durability.partiallyPersisted();
  }

  /** What the last recovery of this replica did, once it serves reads (undefined before). */
  recoveryReport(): RecoveryReport | undefined {
    return this.#recovering ? undefined : this.#strategy.report?.();
  }

  tick(tag: number, ctx: ActorContext<KvWire, KvStorage>): void {
    this.#ctx = ctx;
    if (tag !== TICK_TAG) throw new Error(`replica ${this.self}: unknown timer tag ${tag}`);
    this.#membership.tick(this.#membership.admitted || (this.#strategy.readyToJoin?.(this.#recoveryContext()) ?? true));
    if (this.#membership.admitted) this.#replication.tick(!this.#recovering);
    if (this.#reconciliation?.pulling === true) this.#reconciliation.tick();
    this.#strategy.tick(this.#recoveryContext());
    this.#serveLeaseWaiters();
    ctx.setTimer(this.config.timing.tickMs, TICK_TAG);
  }

  stats(): Record<string, number> {
    const lease = this.#membership.leaseInfo();
    return {
      ...this.#counters,
      ...this.#replication.stats,
      ...this.#replication.durability.stats,
      ...this.#replication.durability.partiallyPersistedStats(),
      ...this.#membership.stats,
      ...(this.#strategy.stats?.() ?? {}),
      ...(this.#reconciliation?.stats ?? {}),
      epoch: this.#membership.view.epoch,
      members: this.#membership.view.members.length,
      admitted: this.#membership.admitted ? 1 : 0,
      recovering: this.#recovering ? 1 : 0,
      holdsLease: lease.epoch === this.view.epoch && this.#ctx.now() < lease.untilMs ? 1 : 0,
      keys: this.#replication.records.size,
      // Loaded at a restart and not touched since: on the medium only (see HeldRecords).
      coldKeys: this.#replication.records.coldSize,
      pendingWrites: this.#replication.pendingWrites,
      ...this.#replication.timeouts(),
      invalidKeys: this.#replication.invalidKeys,
      leaseWaiters: this.#leaseWaiters.length,
      ...mediumReport(this.#ctx.storage.openReport()),
      ...flattenReport(this.recoveryReport()),
    };
  }

  /**
   * Epoch check for data-plane messages: an older epoch is dropped and its sender told our
   * view; a newer one is dropped and its view fetched (the sender retransmits).
   */
  #current(msg: KvMessage): boolean {
    const epoch = this.#membership.view.epoch;
    if (msg.epoch < epoch) {
      this.#counters.staleDropped++;
      this.#membership.sendView(msg.sender, false);
      return false;
    }
    if (msg.epoch > epoch) {
      this.#counters.futureDropped++;
      if (this.#viewRequested.get(msg.sender) !== msg.epoch) {
        this.#viewRequested.set(msg.sender, msg.epoch);
        this.#ctx.send(msg.sender, { kind: 'view-request', epoch, sender: this.self });
      }
      return false;
    }
    return this.#membership.admitted && isMember(this.#membership.view, msg.sender);
  }

  #reply(client: ActorId, body: Record<string, unknown> & { kind: string }): void {
    this.#ctx.send(client, { ...body, epoch: 0, sender: this.self } as KvMessage);
  }

  #notServing(ref: ClientRef): void {
    this.#counters.notServing++;
    this.#reply(ref.client, { kind: 'client-error', reqId: ref.reqId, reason: 'not-serving' });
  }

  /**
   * A get message's reads. One lease check serves them all: no other message is handled while
   * they are served, so they read what they would at the instant of the check, which lies
   * between each one's call and return.
   */
  #onGets(client: ActorId, items: readonly GetItem[]): void {
    const serving = this.full || (this.#recovering && this.config.faults?.shadowServesReads === true);
    if (serving && this.#membership.holdsLease()) {
      this.#replication.readAll(client, items);
      return;
    }
    for (const { reqId, key } of items) {
      const ref = { client, reqId };
      if (!this.full) this.#notServing(ref);
      else if (this.#leaseWaiters.length >= MAX_WAITING_OPS) this.#reply(client, { kind: 'client-error', reqId, reason: 'busy' });
      else this.#leaseWaiters.push({ ref, key });
    }
  }

  #serveLeaseWaiters(): void {
    if (this.#leaseWaiters.length === 0) return;
    if (!this.full) {
      for (const { ref } of this.#leaseWaiters.splice(0)) this.#notServing(ref);
      return;
    }
    if (!this.#membership.holdsLease()) return;
    for (const { ref, key } of this.#leaseWaiters.splice(0)) this.#replication.read(ref, key);
  }

  /** A client request seen before at this replica is dropped: a put executes at most once here. */
  #firstTime(ref: ClientRef): boolean {
    if (this.#dedup.firstTime(ref.client, ref.reqId)) return true;
    this.#counters.duplicateRequests++;
    return false;
  }

  #onPut(msg: PutMsg): void {
    const ref = { client: msg.sender, reqId: msg.reqId };
    if (!this.#firstTime(ref)) return;
    if (this.full) {
      this.#replication.write(ref, msg.key, msg.value);
      return;
    }
    // A ShadowReplica or joining replica hands the write to a full member.
    const view = this.#membership.view;
    const target = view.members.find(
      (m) => m.id !== this.self && !view.shadows.includes(m.id) && !this.#membership.suspects(m.id),
    );
    if (!target) {
      this.#notServing(ref);
      return;
    }
    this.#counters.forwarded++;
    this.#ctx.send(target.id, {
      kind: 'forward-put', epoch: view.epoch, sender: this.self,
      client: ref.client, reqId: ref.reqId, key: msg.key, value: msg.value,
    });
  }

  #onForwardPut(msg: ForwardPutMsg): void {
    const ref = { client: msg.client, reqId: msg.reqId };
    if (!this.#firstTime(ref)) return;
    if (this.full) this.#replication.write(ref, msg.key, msg.value);
    else this.#notServing(ref);
  }

  /** `wasAdmitted`: by the previous view (a first start on old media was not, though it is listed there). */
  #installed(view: View, previous: View, wasAdmitted: boolean): void {
    const admitted = this.#membership.admitted;
    // Admitted by a cold start (every replica restarted): reconciles with every member instead
    // of recovering from a full one (there is none).
    const coldStart = admitted && !wasAdmitted && isColdStartView(view);
    // Admitted after a restart or a removal: a ShadowReplica until its recovery strategy
    // finishes. A replica asks to join only once it installed a view without it, so admission
    // always follows a view that did not admit it (a later view may still list it a shadow).
    const readmitted = admitted && !coldStart && !wasAdmitted;
    const wasFull = wasAdmitted && !this.#recovering;
    if (!admitted) {
      this.#recovering = false;
      this.#reconciliation?.stopPulling();
    }
    if (admitted && !wasAdmitted) this.#admittedEpoch = view.epoch;
    if (readmitted) {
      this.#recovering = true;
      this.#counters.recoveries++;
    }
    if (coldStart) {
      this.#recovering = true;
      this.#counters.coldStarts++;
    }
    // Installing the view re-evaluates DPs (a write may reach DP once a member is gone):
    // recovery wants what was not at DP in the old view, so that is taken first.
    this.#undurableInPrevious = [...this.#replication.notDurable()];
    this.#replication.viewInstalled(view, admitted && !this.#recovering, !admitted || readmitted || coldStart);
    const ctx = this.#recoveryContext();
    try {
      this.#strategy.onViewInstalled(ctx, previous, wasFull);
    } finally {
      this.#undurableInPrevious = undefined;
    }
    if (readmitted) this.#strategy.onAdmitted(ctx);
    if (coldStart) this.#startReconciliation(view);
  }

  #startReconciliation(view: View): void {
    const replica = this;
    this.#reconciliation = new Reconciliation({
      self: this.self,
      timing: this.config.timing,
      now: () => replica.#ctx.now(),
      send: (to, body) => replica.#ctx.send(to, { ...body, epoch: replica.#membership.view.epoch, sender: replica.self } as KvWire),
      records: () => replica.#replication.records,
      install: (entry, from) => replica.#replication.installRecovered(entry, from),
    }, view);
    // A cluster of one has nobody to pull from.
    if (!this.#reconciliation.pulling) this.#finishColdStart();
  }

  /** Pulled every member's records: every key is at the highest ts any medium kept, or later. */
  #finishColdStart(): void {
    if (!this.#recovering || !this.#membership.admitted) return;
    // What it pulled is durable before it serves, as after any recovery.
    this.#replication.durability.syncNow();
    this.#becomeFull();
  }

  /** A ShadowReplica becomes full: it finishes its own leftovers and tells the members now. */
  #becomeFull(): void {
    this.#recovering = false;
    this.#replication.replayAllInvalid();
    this.#membership.heartbeat();
  }

  #recoveryContext(): RecoveryContext {
    const replica = this;
    const ctx = this.#ctx;
    return {
      self: this.self,
      incarnation: ctx.incarnation,
      startedMs: this.#startedMs,
      loadedMs: this.#loadedMs,
      view: this.#membership.view,
      admitted: this.#membership.admitted,
      timing: this.config.timing,
      recovering: this.#recovering,
      versionVector: this.#replication.durability.versionVector,
      now: () => ctx.now(),
      random: () => ctx.random(),
      send: (to, body) => ctx.send(to, { ...body, epoch: replica.#membership.view.epoch, sender: replica.self } as KvWire),
      records: () => replica.#replication.records,
      recordsInBuckets: (buckets) => replica.#replication.records.inBuckets(buckets),
      loadedDigest: () => replica.#loadedDigest?.slice(),
      notDurable: () => replica.#notDurable(),
      installRecovered: (entry, from) => replica.#installRecovered(entry, from),
      persistRecovered: () => replica.#persistRecovered(),
      finishRecovery: () => replica.#finishRecovery(),
    };
  }

  #undurableInPrevious: KeyRecord[] | undefined;
  /** Records a recovery installed since its last persistRecovered (none when it serves). */
  #unpersistedInstalls = 0;

  *#notDurable(): IterableIterator<KeyRecord> {
    const before = this.#undurableInPrevious;
    if (!before) {
      yield* this.#replication.notDurable();
    } else {
      const seen = new Set<string>();
      for (const record of [...before, ...this.#replication.notDurable()]) {
        if (seen.has(record.key)) continue;
        seen.add(record.key);
        yield this.#replication.records.get(record.key) ?? record;
      }
    }
    // Loaded at a restart and not touched since: read from the medium, disjoint from the above.
    yield* this.#replication.coldNotDurable();
  }

  #installRecovered(entry: KeyRecord, from: ActorId): boolean {
    const applied = this.#replication.installRecovered(entry, from);
    if (applied) this.#unpersistedInstalls++;
    return applied;
  }

  #persistRecovered(): void {
    this.#replication.durability.syncNow();
    this.#unpersistedInstalls = 0;
  }

  #finishRecovery(): void {
    // A strategy never ends a cold start's reconciliation.
    if (!this.#recovering || this.#reconciliation?.pulling === true) return;
    assert.equal(this.#unpersistedInstalls, 0, `replica ${this.self}: what recovery installed is durable before it serves`);
    this.#becomeFull();
  }
}
