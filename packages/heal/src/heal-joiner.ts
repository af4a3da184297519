import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import {
  isMember,
  type BucketDigest,
  type KeyRecord,
  type RecoveryContext,
  type RecoveryMeter,
  type StrategyMessage,
} from '@heal/kv/replica';
import { signDigest } from './digest/digest-auth.js';
import { keysInBuckets } from './digest/merkle-descent.js';
import { buddyOf } from './roles.js';
import {
  HEAL_KEYS_MAX_ENTRIES,
  type HealAcceptMsg,
  type HealBatchMsg,
  type HealDoneOkMsg,
  type HealEndMsg,
  type HealKeysMsg,
  type HealKeysRequestMsg,
  type HealNodesRequestMsg,
  type HealRejectMsg,
} from './heal-messages.js';

/**
 * A join that hears nothing for this many retransmit periods starts over with a new session
 * (its Buddy lost it: every lost message is otherwise resent by the side that waits for it).
 */
export const HEAL_JOIN_STALL_RETRANSMITS = 8;

/** The rejoining replica's side of one join. */
interface JoinSession {
  readonly buddy: ActorId;
  readonly session: number;
  readonly epoch: number;
  accepted: boolean;
  /** Per source (the Buddy, and helpers streaming descent keys in parallel): batches received. */
  readonly received: Map<ActorId, Set<number>>;
  /** Per source: its batch count, from its end. */
  readonly totals: Map<ActorId, number>;
  /** How many sources stream (known from the first end). */
  sources: number | undefined;
  batches: number;
  doneSent: boolean;
  /** When the Buddy or a helper was last heard, and when this side last sent what it waits on. */
  heardMs: number;
  sentMs: number;
}

/**
 * The ShadowReplica's side of HEAL (ARCHITECTURE.md §6, HEAL steps 4-8): once admitted it sends its
 * Buddy its digest (Merkle root, whether its medium kept records, version vector, under the
 * cluster's MAC), answers the descent, installs the streamed entries (newer only), makes them
 * durable, and confirms with the Buddy before it serves reads. A join restarts in every newer
 * view (the Buddy may change). Owned by the replica's thread.
 */
export class HealJoiner {
  #joining: JoinSession | undefined;
  /** Its medium kept records at this incarnation's start (else the Buddy runs a descent). */
  #kept = false;
  #nextSession = 1;
  readonly stats = {
    healSessions: 0,
    healEntriesApplied: 0,
    joinsRejected: 0,
    joinsResent: 0,
    donesResent: 0,
    joinStalls: 0,
  };

  constructor(
    readonly self: ActorId,
    readonly digest: BucketDigest,
    readonly meter: RecoveryMeter,
    readonly clusterKey: Uint8Array | undefined,
  ) {}

  get joining(): boolean {
    return this.#joining !== undefined;
  }

  /** The replica (re)started from its medium: a restarted one recovers. */
  started(ctx: RecoveryContext): void {
    this.#kept = ctx.records().size > 0;
    if (ctx.incarnation > 0) this.meter.begin(ctx);
  }

  admitted(ctx: RecoveryContext): void {
    assert(
      ctx.admitted && ctx.recovering,
      'a replica joins its Buddy once admitted as a ShadowReplica',
    );
    this.meter.phase('join', ctx.now());
    this.#join(ctx);
  }

  /** A newer view: a join in progress starts over with the view's Buddy. */
  viewInstalled(ctx: RecoveryContext): void {
    if (!ctx.recovering) this.#joining = undefined;
    else if (this.#joining) this.#join(ctx);
  }

  /** Starts (or restarts, in a newer view) the join with the Buddy: sends the digest. */
  #join(ctx: RecoveryContext): void {
    const buddy = buddyOf(ctx.view, this.self);
    if (buddy === undefined) {
      this.#joining = undefined;
      return;
    }
    // Unique across this replica's incarnations, so a stream of an earlier life is never taken for this one.
    const session =
      (((ctx.incarnation & 0xff) << 24) |
        ((this.self & 0xff) << 16) |
        (this.#nextSession++ & 0xffff)) >>>
      0;
    const now = ctx.now();
    this.#joining = {
      buddy,
      session,
      epoch: ctx.view.epoch,
      accepted: false,
      received: new Map(),
      totals: new Map(),
      sources: undefined,
      batches: 0,
      doneSent: false,
      heardMs: now,
      sentMs: now,
    };
    this.stats.healSessions++;
    this.#sendJoin(ctx, this.#joining);
  }

  /** The digest: the Merkle root now (writes go on) and what the medium durably holds. */
  #sendJoin(ctx: RecoveryContext, j: JoinSession): void {
    const root = this.digest.root();
    const vv = ctx.versionVector.intervals();
    const claim = {
      epoch: j.epoch,
      replica: this.self,
      incarnation: ctx.incarnation,
      session: j.session,
      kept: this.#kept,
      root,
      vv,
    };
    const mac = this.clusterKey ? signDigest(this.clusterKey, claim) : '';
    j.sentMs = ctx.now();
    ctx.send(j.buddy, {
      kind: 'heal-join',
      session: j.session,
      incarnation: ctx.incarnation,
      root,
      kept: this.#kept,
      vv,
      mac,
    });
  }

  /** The join session a message belongs to; `anySource`: a stream message, from the Buddy or a helper. */
  #current(
    ctx: RecoveryContext,
    msg: { session: number; sender: ActorId },
    anySource = false,
  ): JoinSession | undefined {
    const j = this.#joining;
    if (!j || !ctx.recovering || msg.session !== j.session) return undefined;
    if (msg.sender !== j.buddy && !(anySource && isMember(ctx.view, msg.sender))) return undefined;
    j.heardMs = ctx.now();
    return j;
  }

  /** Handles the messages a joiner receives; false for any other kind. */
  receive(ctx: RecoveryContext, msg: StrategyMessage): boolean {
    switch (msg.kind) {
      case 'heal-accept':
        this.#onAccept(ctx, msg as unknown as HealAcceptMsg);
        return true;
      case 'heal-reject':
        this.#onReject(ctx, msg as unknown as HealRejectMsg);
        return true;
      case 'heal-nodes-request':
        this.#onNodesRequest(ctx, msg as unknown as HealNodesRequestMsg);
        return true;
      case 'heal-keys-request':
        this.#onKeysRequest(ctx, msg as unknown as HealKeysRequestMsg);
        return true;
      case 'heal-batch':
        this.#onBatch(ctx, msg as unknown as HealBatchMsg);
        return true;
      case 'heal-end':
        this.#onEnd(ctx, msg as unknown as HealEndMsg);
        return true;
      case 'heal-done-ok':
        this.#onDoneOk(ctx, msg as unknown as HealDoneOkMsg);
        return true;
      default:
        return false;
    }
  }

  #onAccept(ctx: RecoveryContext, msg: HealAcceptMsg): void {
    const j = this.#current(ctx, msg);
    if (j) this.#accepted(ctx, j);
  }

  /** Start-to-ack ends with the Buddy's accept, or whatever of the exchange overtook it. */
  #accepted(ctx: RecoveryContext, j: JoinSession): void {
    if (j.accepted) return;
    j.accepted = true;
    this.meter.phase('startToAck', ctx.now());
  }

  /** The Buddy refused the digest (e.g. it failed authentication): the join is retried, never trusted. */
  #onReject(ctx: RecoveryContext, msg: HealRejectMsg): void {
    if (this.#current(ctx, msg)) this.stats.joinsRejected++;
  }

  #onNodesRequest(ctx: RecoveryContext, msg: HealNodesRequestMsg): void {
    const j = this.#current(ctx, msg);
    if (!j) return;
    this.#accepted(ctx, j);
    const hashes = this.digest.nodes(msg.level, msg.indices);
    ctx.send(j.buddy, {
      kind: 'heal-nodes',
      session: j.session,
      level: msg.level,
      indices: msg.indices,
      hashes,
    });
  }

  /** The `(key, ts)` of its records in the differing buckets, in parts (every part again if asked again). */
  #onKeysRequest(ctx: RecoveryContext, msg: HealKeysRequestMsg): void {
    const j = this.#current(ctx, msg);
    if (!j) return;
    this.#accepted(ctx, j);
    const buckets = new Set(msg.buckets);
    const held = keysInBuckets(ctx.recordsInBuckets(buckets), this.digest, buckets);
    let part = 0;
    let entries: HealKeysMsg['entries'] = [];
    const send = (last: boolean): void => {
      ctx.send(j.buddy, {
        kind: 'heal-keys',
        session: j.session,
        attempt: msg.attempt,
        part: part++,
        last,
        entries,
      });
      entries = [];
    };
    for (const [key, ts] of held) {
      entries.push({ key, version: ts.version, cid: ts.cid });
      if (entries.length === HEAL_KEYS_MAX_ENTRIES) send(false);
    }
    send(true);
  }

  #onBatch(ctx: RecoveryContext, msg: HealBatchMsg): void {
    const j = this.#current(ctx, msg, true);
    if (!j) return;
    ctx.send(msg.sender, { kind: 'heal-batch-ack', session: j.session, batch: msg.batch });
    let received = j.received.get(msg.sender);
    if (!received) j.received.set(msg.sender, (received = new Set()));
    if (received.has(msg.batch)) return;
    assert(!j.doneSent, 'no new batch arrives once every source ended and the join confirmed');
    this.#accepted(ctx, j);
    if (j.batches === 0) this.meter.phase('exchange', ctx.now());
    received.add(msg.batch);
    j.batches++;
    let applied = 0;
    for (const e of msg.entries) {
      const record: KeyRecord = {
        key: e.key,
        ts: { version: e.version, cid: e.cid },
        value: e.value,
        state: e.state,
        origin: e.origin,
        seq: e.seq,
      };
      if (ctx.installRecovered(record, msg.sender)) applied++;
    }
    this.stats.healEntriesApplied += applied;
    this.meter.entries(msg.entries.length, applied);
    this.#maybeDone(ctx, j);
  }

  #onEnd(ctx: RecoveryContext, msg: HealEndMsg): void {
    const j = this.#current(ctx, msg, true);
    if (!j) return;
    // A helper forgets the session once the joiner has its end (a lost ack: it sends the end again).
    if (msg.sender !== j.buddy) ctx.send(msg.sender, { kind: 'heal-end-ack', session: j.session });
    if (j.totals.has(msg.sender)) return;
    this.#accepted(ctx, j);
    j.totals.set(msg.sender, msg.batches);
    if (msg.sender === j.buddy) {
      if (msg.mode === 'buffer') this.meter.count('vvSkipped', msg.vvSkipped);
      this.meter.count(msg.mode === 'buffer' ? 'bufferSessions' : 'descentSessions');
      if (msg.sources > 1) this.meter.count('parallelSources', msg.sources);
    }
    if (j.sources === undefined) j.sources = msg.sources;
    this.#maybeDone(ctx, j);
  }

  /** Consistency reinforcement: every source's every batch is here; ask the Buddy to confirm. */
  #maybeDone(ctx: RecoveryContext, j: JoinSession): void {
    if (j.doneSent || j.sources === undefined || j.totals.size < j.sources) return;
    for (const [source, total] of j.totals) if ((j.received.get(source)?.size ?? 0) < total) return;
    if (j.batches === 0) this.meter.phase('exchange', ctx.now());
    this.meter.phase('replay', ctx.now());
    // The Buddy drops its buffer at heal-done, so what was streamed is on this medium first.
    ctx.persistRecovered();
    j.doneSent = true;
    this.#sendDone(ctx, j);
  }

  #sendDone(ctx: RecoveryContext, j: JoinSession): void {
    j.sentMs = ctx.now();
    ctx.send(j.buddy, { kind: 'heal-done', session: j.session });
  }

  #onDoneOk(ctx: RecoveryContext, msg: HealDoneOkMsg): void {
    const j = this.#current(ctx, msg);
    if (!j || !j.doneSent) return;
    this.#joining = undefined;
    this.meter.finish('finalize', ctx.now());
    ctx.finishRecovery();
  }

  /**
   * Resends what this side waits on: the digest until the Buddy answers (it may not have
   * installed the admitting view yet), heal-done until confirmed; a join the Buddy no longer
   * answers at all starts over.
   */
  tick(ctx: RecoveryContext): void {
    const j = this.#joining;
    if (!j || !ctx.recovering) return;
    const now = ctx.now();
    const { retransmitMs } = ctx.timing;
    if (now - j.heardMs > HEAL_JOIN_STALL_RETRANSMITS * retransmitMs) {
      this.stats.joinStalls++;
      this.#join(ctx);
      return;
    }
    if (now - j.sentMs < retransmitMs) return;
    if (!j.accepted) {
      this.stats.joinsResent++;
      this.#sendJoin(ctx, j);
    } else if (j.doneSent) {
      this.stats.donesResent++;
      this.#sendDone(ctx, j);
    }
  }
}
