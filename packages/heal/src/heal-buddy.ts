import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import {
  incarnationOf, isMember, VersionVector,
  type BucketDigest, type RecoveryContext, type StrategyMessage, type Ts, type View,
} from '@heal/kv/replica';
import { DigestAuthError, verifyDigest } from './digest/digest-auth.js';
import { keysInBuckets, MerkleDescent, newerAt } from './digest/merkle-descent.js';
import {
  HEAL_KEYS_MAX_ENTRIES,
  type HealAssistMsg, type HealBatchAckMsg, type HealDoneMsg, type HealEndAckMsg, type HealHandoffMsg,
  type HealJoinMsg, type HealKeysMsg, type HealNodesMsg,
} from './heal-messages.js';
import { Handoffs } from './heal-handoff.js';
import type { MissedUpdates } from './missed-updates.js';
import { SelectionStream } from './heal-stream.js';
import { buddyOf, descentHelpers } from './roles.js';
import type { HealFaults } from './heal-faults.js';

/** Joins kept for a view this replica has not installed yet (one per joiner). */
export const HEAL_EARLY_JOINS_MAX = 64;
/** A descent's selection of at least this many keys is streamed by several sources in parallel. */
export const HEAL_PARALLEL_MIN_KEYS = 1024;
/** Sources streaming one joiner's descent keys (the Buddy included). */
export const HEAL_PARALLEL_SOURCES = 3;
/** Keys of the joiner's differing buckets the Buddy collects during a descent. */
export const HEAL_DESCENT_KEYS_MAX = 50_000_000;

/** One joiner served by this replica: as its Buddy, or as a helper streaming part of a descent's keys. */
interface ServingSession {
  readonly joiner: ActorId;
  readonly session: number;
  readonly epoch: number;
  readonly helper: boolean;
  /** Streams in all (this one included). */
  sources: number;
  mode: 'buffer' | 'descent';
  /** descent: comparing trees; keys: gathering the joiner's keys of the differing buckets; stream. */
  phase: 'descent' | 'keys' | 'stream';
  descent: MerkleDescent | undefined;
  buckets: number[] | undefined;
  /** The keys request being answered: parts of older ones are dropped. */
  keysAttempt: number;
  /** The joiner's `(key, ts)` of the differing buckets, gathered part by part. */
  remote: Map<string, Ts>;
  parts: Set<number>;
  lastPart: number | undefined;
  /** A helper's keys arrive in chunks. */
  chunks: Map<number, string[]> | undefined;
  /** What the Buddy asked each helper to stream, sent again while the joiner has not confirmed. */
  assists: { to: ActorId; msg: Omit<HealAssistMsg, 'epoch' | 'sender'> }[];
  /** The selected keys' stream, once they are known. */
  stream: SelectionStream | undefined;
  vvSkipped: number;
  progressMs: number;
}

/**
 * The Buddy's side of HEAL (ARCHITECTURE.md §6 Recovery): the view that removes a failed replica names a
 * Buddy; every full member hands it the writes that were not at DP; it records what the failed
 * replica misses in a Missed-updates buffer; when the replica rejoins as a ShadowReplica it
 * checks the digest, selects from the buffer what the version vector does not prove held, or
 * finds the differing keys by Merkle descent (streamed in parallel with helpers when many),
 * streams them, and drops the buffer once the joiner confirms. Every step that waits for the
 * joiner resends on its own (a lost message never restarts the recovery). Owned by the
 * replica's thread.
 */
export class HealBuddy {
  readonly #earlyJoins = new Map<ActorId, HealJoinMsg>();
  readonly #serving = new Map<ActorId, ServingSession>();
  /** The last session served to the end per joiner: a resent heal-done is confirmed again, a resent assist ignored. */
  readonly #finished = new Map<ActorId, number>();
  /** The newest digest taken per joiner: an older one (a replay) is refused. */
  readonly #joins = new Map<ActorId, { incarnation: number; session: number }>();
  readonly stats = {
    handoffItemsSent: 0, handoffItemsTaken: 0, handoffItemsEarly: 0, handoffItemsDropped: 0, buffers: 0, sessionsServed: 0,
    sessionsBuffer: 0, sessionsDescent: 0, selectedKeys: 0, vvSkipped: 0, entriesStreamed: 0, descentRounds: 0,
    digestsRejected: 0, digestsReplayed: 0, sessionsAssisted: 0, keysRequestsResent: 0, assistsResent: 0, doneOksResent: 0,
  };

  /** The Missed-updates buffers this replica keeps as a Buddy, and the handoffs into them. */
  readonly handoffs: Handoffs;

  constructor(
    readonly self: ActorId,
    readonly digest: BucketDigest,
    bufferBytes: number,
    readonly clusterKey: Uint8Array | undefined,
    readonly faults: HealFaults,
  ) {
    this.handoffs = new Handoffs(self, bufferBytes, faults, this.stats);
  }

  // ---- Views ---------------------------------------------------------------------------------

  /** `wasFull`: this replica was a full member of `previous`. */
  viewInstalled(ctx: RecoveryContext, previous: View, wasFull: boolean): void {
    const view = ctx.view;
    for (const [joiner, s] of [...this.#serving]) if (s.epoch !== view.epoch || !isMember(view, joiner)) this.#serving.delete(joiner);
    if (!ctx.admitted) return;
    this.handoffs.viewInstalled(ctx, previous, wasFull);
    for (const [joiner, join] of [...this.#earlyJoins]) {
      if (join.epoch > view.epoch) continue;
      this.#earlyJoins.delete(joiner);
      if (join.epoch === view.epoch) this.#onJoin(ctx, join);
    }
  }

  // ---- A joiner's digest --------------------------------------------------------------------

  #onJoin(ctx: RecoveryContext, msg: HealJoinMsg): void {
    const view = ctx.view;
    const joiner = msg.sender;
    if (msg.epoch > view.epoch) {
      // The joiner installed the admitting view first: answer once this replica installs it.
      if (this.#earlyJoins.size < HEAL_EARLY_JOINS_MAX || this.#earlyJoins.has(joiner)) this.#earlyJoins.set(joiner, msg);
      return;
    }
    if (!ctx.admitted || ctx.recovering || msg.epoch !== view.epoch || incarnationOf(view, joiner) !== msg.incarnation) return;
    if (buddyOf(view, joiner) !== this.self) return;
    const existing = this.#serving.get(joiner);
    if (existing?.session === msg.session) {
      // The joiner did not hear the accept: the exchange goes on.
      ctx.send(joiner, { kind: 'heal-accept', session: msg.session, mode: existing.mode, selected: existing.stream?.keys.length ?? 0 });
      return;
    }
    const last = this.#joins.get(joiner);
    if (last && (msg.incarnation < last.incarnation || (msg.incarnation === last.incarnation && msg.session <= last.session))) {
      this.stats.digestsReplayed++;
      return;
    }
    let vv: VersionVector;
    let descent: MerkleDescent;
    try {
      vv = VersionVector.fromIntervals(msg.vv);
      descent = new MerkleDescent(this.digest, msg.root);
      verifyDigest(this.clusterKey, {
        epoch: msg.epoch, replica: joiner, incarnation: msg.incarnation, session: msg.session, kept: msg.kept, root: msg.root, vv: msg.vv,
      }, msg.mac === '' ? undefined : msg.mac);
    } catch (err) {
      if (!(err instanceof DigestAuthError) && !(err instanceof RangeError)) throw err;
      this.stats.digestsRejected++;
      ctx.send(joiner, { kind: 'heal-reject', session: msg.session, reason: err.message });
      return;
    }
    this.#joins.set(joiner, { incarnation: msg.incarnation, session: msg.session });
    const buffer = this.handoffs.buffer(joiner);
    const mode = buffer?.covers === true && msg.kept ? 'buffer' : 'descent';
    const s = this.#session(ctx, joiner, msg.session, msg.epoch, false, mode);
    this.stats.sessionsServed++;
    if (buffer && mode === 'buffer') {
      this.stats.sessionsBuffer++;
      this.#stream(ctx, s, this.#selectFromBuffer(ctx, s, buffer, vv));
      ctx.send(joiner, { kind: 'heal-accept', session: s.session, mode, selected: s.stream?.keys.length ?? 0 });
      return;
    }
    this.stats.sessionsDescent++;
    s.descent = descent;
    ctx.send(joiner, { kind: 'heal-accept', session: s.session, mode, selected: 0 });
    this.#descend(ctx, s);
  }

  #session(
    ctx: RecoveryContext, joiner: ActorId, session: number, epoch: number, helper: boolean, mode: 'buffer' | 'descent',
  ): ServingSession {
    const s: ServingSession = {
      joiner, session, epoch, helper, sources: 1, mode, phase: mode === 'buffer' || helper ? 'stream' : 'descent',
      descent: undefined, buckets: undefined, keysAttempt: 0, remote: new Map(), parts: new Set(), lastPart: undefined,
      chunks: helper ? new Map() : undefined, assists: [], stream: undefined, vvSkipped: 0, progressMs: ctx.now(),
    };
    this.#serving.set(joiner, s);
    return s;
  }

  /** The buffer's keys, less those whose write here the joiner's vector proves it holds. */
  #selectFromBuffer(ctx: RecoveryContext, s: ServingSession, buffer: MissedUpdates, vv: VersionVector): string[] {
    const records = ctx.records();
    const overclaim = this.faults.vvOverclaim;
    const keys: string[] = [];
    for (const key of buffer.keyList()) {
      const record = records.get(key);
      if (!record) continue;
      const held = vv.covers(record.origin, record.seq) || (overclaim && vv.covers(record.origin, record.seq - 1));
      if (held) s.vvSkipped++;
      else keys.push(key);
    }
    if (this.faults.skipSelected && keys.length > 0) keys.pop();
    this.stats.selectedKeys += keys.length;
    this.stats.vvSkipped += s.vvSkipped;
    return keys;
  }

  /** Starts streaming `keys` to the joiner of `s`. */
  #stream(ctx: RecoveryContext, s: ServingSession, keys: string[]): void {
    const sendEnd = (c: RecoveryContext, batches: number): void => c.send(s.joiner, {
      kind: 'heal-end', session: s.session, mode: s.mode, batches, sources: s.sources, vvSkipped: s.vvSkipped,
    });
    s.stream = new SelectionStream(keys, s.joiner, s.session, sendEnd, this.stats);
    s.stream.pump(ctx);
  }

  // ---- Merkle descent -----------------------------------------------------------------------

  #descend(ctx: RecoveryContext, s: ServingSession): void {
    const descent = s.descent as MerkleDescent;
    const request = descent.next();
    if (request) {
      ctx.send(s.joiner, { kind: 'heal-nodes-request', session: s.session, level: request.level, indices: request.indices });
      return;
    }
    this.stats.descentRounds += descent.rounds;
    s.buckets = descent.differingBuckets;
    if (this.faults.descentSkipsBucket && s.buckets.length > 0) s.buckets.shift();
    if (s.buckets.length === 0) {
      this.#select(ctx, s);
      return;
    }
    s.phase = 'keys';
    this.#requestKeys(ctx, s);
  }

  #requestKeys(ctx: RecoveryContext, s: ServingSession): void {
    s.keysAttempt++;
    s.remote.clear();
    s.parts.clear();
    s.lastPart = undefined;
    ctx.send(s.joiner, { kind: 'heal-keys-request', session: s.session, attempt: s.keysAttempt, buckets: s.buckets as number[] });
  }

  #onNodes(ctx: RecoveryContext, msg: HealNodesMsg): void {
    const s = this.#served(ctx, msg);
    if (s?.phase !== 'descent' || !s.descent) return;
    if (s.descent.onRemote(msg.level, msg.indices, msg.hashes)) this.#descend(ctx, s);
  }

  #onKeys(ctx: RecoveryContext, msg: HealKeysMsg): void {
    const s = this.#served(ctx, msg);
    if (s?.phase !== 'keys' || msg.attempt !== s.keysAttempt || s.parts.has(msg.part)) return;
    s.parts.add(msg.part);
    if (msg.last) s.lastPart = msg.part;
    assert(s.remote.size + msg.entries.length <= HEAL_DESCENT_KEYS_MAX, `descent of joiner ${s.joiner} collects over ${HEAL_DESCENT_KEYS_MAX} keys`);
    for (const e of msg.entries) s.remote.set(e.key, { version: e.version, cid: e.cid });
    if (s.lastPart !== undefined && s.parts.size === s.lastPart + 1) this.#select(ctx, s);
  }

  /** The descent is done: exactly the keys of the differing buckets this replica holds newer. */
  #select(ctx: RecoveryContext, s: ServingSession): void {
    const buckets = new Set(s.buckets);
    const local = keysInBuckets(ctx.recordsInBuckets(buckets), this.digest, buckets);
    const keys = newerAt(local, s.remote);
    s.remote = new Map();
    s.phase = 'stream';
    this.stats.selectedKeys += keys.length;
    // Large selections are streamed by several full members in parallel, a slice each.
    const view = ctx.view;
    const helpers = keys.length < HEAL_PARALLEL_MIN_KEYS ? [] : descentHelpers(view, this.self, s.joiner, HEAL_PARALLEL_SOURCES - 1);
    s.sources = helpers.length + 1;
    const slice = Math.ceil(keys.length / s.sources);
    helpers.forEach((to, i) => {
      const part = keys.slice((i + 1) * slice, (i + 2) * slice);
      const chunks = Math.max(1, Math.ceil(part.length / HEAL_KEYS_MAX_ENTRIES));
      for (let c = 0; c < chunks; c++) {
        s.assists.push({ to, msg: {
          kind: 'heal-assist', session: s.session, joiner: s.joiner, incarnation: incarnationOf(view, s.joiner) ?? 0,
          sources: s.sources, chunk: c, chunks, keys: part.slice(c * HEAL_KEYS_MAX_ENTRIES, (c + 1) * HEAL_KEYS_MAX_ENTRIES),
        } });
      }
    });
    this.#sendAssists(ctx, s);
    this.#stream(ctx, s, keys.slice(0, slice));
  }

  #sendAssists(ctx: RecoveryContext, s: ServingSession): void {
    for (const { to, msg } of s.assists) ctx.send(to, msg);
  }

  /** A helper's share of a descent's keys: streamed to the joiner like the Buddy's own. */
  #onAssist(ctx: RecoveryContext, msg: HealAssistMsg): void {
    const view = ctx.view;
    if (!ctx.admitted || ctx.recovering || msg.epoch !== view.epoch || incarnationOf(view, msg.joiner) !== msg.incarnation) return;
    if (this.#finished.get(msg.joiner) === msg.session) return;
    let s = this.#serving.get(msg.joiner);
    if (s?.session !== msg.session) {
      s = this.#session(ctx, msg.joiner, msg.session, msg.epoch, true, 'descent');
      s.sources = msg.sources;
      this.stats.sessionsAssisted++;
    }
    if (!s.chunks) return; // streaming already
    s.chunks.set(msg.chunk, msg.keys);
    if (s.chunks.size < msg.chunks) return;
    const keys: string[] = [];
    for (let c = 0; c < msg.chunks; c++) keys.push(...(s.chunks.get(c) as string[]));
    s.chunks = undefined;
    this.#stream(ctx, s, keys);
  }

  // ---- Streaming ----------------------------------------------------------------------------

  /** The session a joiner's message belongs to, if this replica still serves it. */
  #served(ctx: RecoveryContext, msg: { session: number; sender: ActorId }): ServingSession | undefined {
    const s = this.#serving.get(msg.sender);
    if (!s || s.session !== msg.session || ctx.recovering) return undefined;
    s.progressMs = ctx.now();
    return s;
  }

  #onBatchAck(ctx: RecoveryContext, msg: HealBatchAckMsg): void {
    this.#served(ctx, msg)?.stream?.onAck(ctx, msg.batch);
  }

  /** A helper's stream is whole at the joiner. */
  #onEndAck(ctx: RecoveryContext, msg: HealEndAckMsg): void {
    const s = this.#served(ctx, msg);
    if (!s?.helper || s.stream?.ended !== true) return;
    this.#serving.delete(s.joiner);
    this.#finished.set(s.joiner, s.session);
  }

  /** The joiner holds (durably) everything selected: the buffer goes. */
  #onDone(ctx: RecoveryContext, msg: HealDoneMsg): void {
    if (this.#finished.get(msg.sender) === msg.session && !this.#serving.has(msg.sender)) {
      // Its confirmation was lost: confirm again (the buffer is gone).
      this.stats.doneOksResent++;
      ctx.send(msg.sender, { kind: 'heal-done-ok', session: msg.session });
      return;
    }
    const s = this.#served(ctx, msg);
    if (!s || s.helper || s.stream?.ended !== true) return;
    this.#serving.delete(s.joiner);
    this.handoffs.drop(s.joiner);
    this.#finished.set(s.joiner, s.session);
    ctx.send(s.joiner, { kind: 'heal-done-ok', session: s.session });
  }

  // ---- Dispatch and timers ------------------------------------------------------------------

  /** Handles the messages a Buddy or helper receives; false for any other kind. */
  receive(ctx: RecoveryContext, msg: StrategyMessage): boolean {
    switch (msg.kind) {
      case 'heal-handoff': this.handoffs.onHandoff(ctx, msg as unknown as HealHandoffMsg); return true;
      case 'heal-join': this.#onJoin(ctx, msg as unknown as HealJoinMsg); return true;
      case 'heal-nodes': this.#onNodes(ctx, msg as unknown as HealNodesMsg); return true;
      case 'heal-keys': this.#onKeys(ctx, msg as unknown as HealKeysMsg); return true;
      case 'heal-batch-ack': this.#onBatchAck(ctx, msg as unknown as HealBatchAckMsg); return true;
      case 'heal-end-ack': this.#onEndAck(ctx, msg as unknown as HealEndAckMsg); return true;
      case 'heal-done': this.#onDone(ctx, msg as unknown as HealDoneMsg); return true;
      case 'heal-assist': this.#onAssist(ctx, msg as unknown as HealAssistMsg); return true;
      default: return false;
    }
  }

  /** Resends, for each session that heard nothing for a retransmit period, what it waits on. */
  tick(ctx: RecoveryContext): void {
    const now = ctx.now();
    for (const s of this.#serving.values()) {
      if (now - s.progressMs <= ctx.timing.retransmitMs) continue;
      s.progressMs = now;
      if (s.phase === 'descent') this.#descend(ctx, s);
      else if (s.phase === 'keys') {
        this.stats.keysRequestsResent++;
        this.#requestKeys(ctx, s);
      } else if (s.stream) this.#resend(ctx, s, s.stream);
    }
  }

  /** Re-sends every unacknowledged batch, the end, and (the Buddy) its helpers' assignments. */
  #resend(ctx: RecoveryContext, s: ServingSession, stream: SelectionStream): void {
    stream.resend(ctx);
    if (stream.ended && stream.acked && s.assists.length > 0) {
      this.stats.assistsResent++;
      this.#sendAssists(ctx, s);
    }
  }
}
