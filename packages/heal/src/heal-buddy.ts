import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import {
  assertNodeHash,
  incarnationOf,
  VersionVector,
  type BucketDigest,
  type RecoveryContext,
  type StrategyMessage,
  type View,
} from '@heal/kv/replica';
import { DigestAuthError, verifyDigest } from './digest/digest-auth.js';
import { MerkleDescent } from './digest/merkle-descent.js';
import { BuddyDescent } from './heal-descent.js';
import type {
  HealAssistMsg,
  HealBatchAckMsg,
  HealDoneMsg,
  HealEndAckMsg,
  HealHandoffMsg,
  HealJoinMsg,
  HealKeysMsg,
  HealNodesMsg,
} from './heal-messages.js';
import { Handoffs } from './heal-handoff.js';
import { sendAssists, servingSession, type ServingSession } from './heal-serving.js';
import type { MissedUpdates } from './missed-updates.js';
import { SelectionStream } from './heal-stream.js';
import { buddyOf } from './roles.js';
import type { HealFaults } from './heal-faults.js';

export {
  HEAL_DESCENT_KEYS_MAX,
  HEAL_PARALLEL_MIN_KEYS,
  HEAL_PARALLEL_SOURCES,
} from './heal-descent.js';

/** Joins kept for a view this replica has not installed yet (one per joiner). */
export const HEAL_EARLY_JOINS_MAX = 64;
/**
 * The Buddy's side of HEAL (ARCHITECTURE.md §6 Recovery): the view that removes a failed replica names a
 * Buddy; every full member hands it the writes that were not at DP; it records what the failed
 * replica misses in a Missed-updates buffer; when the replica rejoins as a ShadowReplica it
 * checks the digest, selects from the buffer what the version vector does not prove held, or
 * finds the differing keys by Merkle descent (heal-descent.ts; streamed in parallel with helpers
 * when many), streams them, and drops the buffer once the joiner confirms. Every step that waits
 * for the joiner resends on its own (a lost message never restarts the recovery). Owned by the
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
    handoffItemsSent: 0,
    handoffItemsTaken: 0,
    handoffItemsEarly: 0,
    handoffItemsDropped: 0,
    buffers: 0,
    sessionsServed: 0,
    sessionsBuffer: 0,
    sessionsDescent: 0,
    selectedKeys: 0,
    vvSkipped: 0,
    entriesStreamed: 0,
    descentRounds: 0,
    digestsRejected: 0,
    digestsReplayed: 0,
    sessionsAssisted: 0,
    keysRequestsResent: 0,
    assistsResent: 0,
    doneOksResent: 0,
  };

  /** The Missed-updates buffers this replica keeps as a Buddy, and the handoffs into them. */
  readonly handoffs: Handoffs;
  readonly #descent: BuddyDescent;

  constructor(
    readonly self: ActorId,
    readonly digest: BucketDigest,
    bufferBytes: number,
    readonly clusterKey: Uint8Array | undefined,
    readonly faults: HealFaults,
  ) {
    this.handoffs = new Handoffs(self, bufferBytes, faults, this.stats);
    this.#descent = new BuddyDescent({
      self,
      digest,
      faults,
      stats: this.stats,
      stream: (ctx, s, keys) => this.#stream(ctx, s, keys),
    });
  }

  // ---- Views ---------------------------------------------------------------------------------

  /** `wasFull`: this replica was a full member of `previous`. */
  viewInstalled(ctx: RecoveryContext, previous: View, wasFull: boolean): void {
    const view = ctx.view;
    // Every session is of an older view (views only move forward): its joiner joins again in this one.
    for (const s of this.#serving.values())
      assert(s.epoch < view.epoch, `a session of epoch ${s.epoch} outlived view ${view.epoch}`);
    this.#serving.clear();
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
      if (this.#earlyJoins.size < HEAL_EARLY_JOINS_MAX || this.#earlyJoins.has(joiner))
        this.#earlyJoins.set(joiner, msg);
      return;
    }
    if (
      !ctx.admitted ||
      ctx.recovering ||
      msg.epoch !== view.epoch ||
      incarnationOf(view, joiner) !== msg.incarnation
    )
      return;
    if (buddyOf(view, joiner) !== this.self) return;
    const existing = this.#serving.get(joiner);
    if (existing?.session === msg.session) {
      // The joiner did not hear the accept: the exchange goes on.
      ctx.send(joiner, {
        kind: 'heal-accept',
        session: msg.session,
        mode: existing.mode,
        selected: existing.stream?.keys.length ?? 0,
      });
      return;
    }
    const last = this.#joins.get(joiner);
    if (
      last &&
      (msg.incarnation < last.incarnation ||
        (msg.incarnation === last.incarnation && msg.session <= last.session))
    ) {
      this.stats.digestsReplayed++;
      return;
    }
    let vv: VersionVector;
    try {
      vv = VersionVector.fromIntervals(msg.vv);
      assertNodeHash(msg.root, 'root');
      verifyDigest(
        this.clusterKey,
        {
          epoch: msg.epoch,
          replica: joiner,
          incarnation: msg.incarnation,
          session: msg.session,
          kept: msg.kept,
          root: msg.root,
          vv: msg.vv,
        },
        msg.mac === '' ? undefined : msg.mac,
      );
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
      ctx.send(joiner, {
        kind: 'heal-accept',
        session: s.session,
        mode,
        selected: s.stream?.keys.length ?? 0,
      });
      return;
    }
    this.stats.sessionsDescent++;
    // Only a descent compares roots: building this replica's root rehashes every bucket written
    // since the last one (3.6-7.8 ms after a 3 s outage at 100k keys, on the join's path).
    s.descent = new MerkleDescent(this.digest, msg.root);
    ctx.send(joiner, { kind: 'heal-accept', session: s.session, mode, selected: 0 });
    this.#descent.descend(ctx, s);
  }

  #session(
    ctx: RecoveryContext,
    joiner: ActorId,
    session: number,
    epoch: number,
    helper: boolean,
    mode: 'buffer' | 'descent',
  ): ServingSession {
    const s = servingSession(ctx, joiner, session, epoch, helper, mode);
    this.#serving.set(joiner, s);
    return s;
  }

  /** The buffer's keys, less those whose write here the joiner's vector proves it holds. */
  #selectFromBuffer(
    ctx: RecoveryContext,
    s: ServingSession,
    buffer: MissedUpdates,
    vv: VersionVector,
  ): string[] {
    const records = ctx.records();
    const overclaim = this.faults.vvOverclaim;
    const keys: string[] = [];
    for (const key of buffer.keyList()) {
      const record = records.get(key);
      if (!record) continue;
      const held =
        vv.covers(record.origin, record.seq) ||
        (overclaim && vv.covers(record.origin, record.seq - 1));
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
    const sendEnd = (c: RecoveryContext, batches: number): void =>
      c.send(s.joiner, {
        kind: 'heal-end',
        session: s.session,
        mode: s.mode,
        batches,
        sources: s.sources,
        vvSkipped: s.vvSkipped,
      });
    s.stream = new SelectionStream(keys, s.joiner, s.session, sendEnd, this.stats);
    s.stream.pump(ctx);
  }

  // ---- Merkle descent and its helpers ---------------------------------------------------------

  #onNodes(ctx: RecoveryContext, msg: HealNodesMsg): void {
    const s = this.#served(ctx, msg);
    if (s) this.#descent.onNodes(ctx, s, msg);
  }

  #onKeys(ctx: RecoveryContext, msg: HealKeysMsg): void {
    const s = this.#served(ctx, msg);
    if (s) this.#descent.onKeys(ctx, s, msg);
  }

  /** A helper's share of a descent's keys: streamed to the joiner like the Buddy's own. */
  #onAssist(ctx: RecoveryContext, msg: HealAssistMsg): void {
    const view = ctx.view;
    if (
      !ctx.admitted ||
      ctx.recovering ||
      msg.epoch !== view.epoch ||
      incarnationOf(view, msg.joiner) !== msg.incarnation
    )
      return;
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
  #served(
    ctx: RecoveryContext,
    msg: { session: number; sender: ActorId },
  ): ServingSession | undefined {
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
      case 'heal-handoff':
        this.handoffs.onHandoff(ctx, msg as unknown as HealHandoffMsg);
        return true;
      case 'heal-join':
        this.#onJoin(ctx, msg as unknown as HealJoinMsg);
        return true;
      case 'heal-nodes':
        this.#onNodes(ctx, msg as unknown as HealNodesMsg);
        return true;
      case 'heal-keys':
        this.#onKeys(ctx, msg as unknown as HealKeysMsg);
        return true;
      case 'heal-batch-ack':
        this.#onBatchAck(ctx, msg as unknown as HealBatchAckMsg);
        return true;
      case 'heal-end-ack':
        this.#onEndAck(ctx, msg as unknown as HealEndAckMsg);
        return true;
      case 'heal-done':
        this.#onDone(ctx, msg as unknown as HealDoneMsg);
        return true;
      case 'heal-assist':
        this.#onAssist(ctx, msg as unknown as HealAssistMsg);
        return true;
      default:
        return false;
    }
  }

  /** Resends, for each session that heard nothing for a retransmit period, what it waits on. */
  tick(ctx: RecoveryContext): void {
    const now = ctx.now();
    for (const s of this.#serving.values()) {
      if (now - s.progressMs <= ctx.timing.retransmitMs) continue;
      s.progressMs = now;
      if (s.phase === 'descent') this.#descent.descend(ctx, s);
      else if (s.phase === 'keys') {
        this.stats.keysRequestsResent++;
        this.#descent.requestKeys(ctx, s);
      } else if (s.stream) this.#resend(ctx, s, s.stream);
    }
  }

  /** Re-sends every unacknowledged batch, the end, and (the Buddy) its helpers' assignments. */
  #resend(ctx: RecoveryContext, s: ServingSession, stream: SelectionStream): void {
    stream.resend(ctx);
    if (stream.ended && stream.acked && s.assists.length > 0) {
      this.stats.assistsResent++;
      sendAssists(ctx, s);
    }
  }
}
