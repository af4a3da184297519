import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import type { StrategyMessage } from '../protocol/messages.js';
import type { RecoveryContext } from '../protocol/recovery-strategy.js';
import { incarnationOf, type View } from '../protocol/view.js';
import {
  MAX_SOURCE_SESSIONS,
  NO_HINT,
  stallMs,
  WINDOW_BATCHES,
  type BatchMark,
  type CatchUpAckMsg,
  type CatchUpBatchMsg,
  type CatchUpKinds,
  type CatchUpRequestMsg,
  type RejectReason,
  type SyncMode,
  type WireEntry,
} from './catch-up-messages.js';

/** One recovering replica served by this source. */
export interface SourceSession {
  readonly joiner: ActorId;
  readonly incarnation: number;
  readonly id: number;
  readonly mode: SyncMode;
  nextBatch: number;
  /** Sent, not yet acknowledged, oldest first (at most WINDOW_BATCHES). */
  readonly unacked: { msg: Omit<CatchUpBatchMsg, 'epoch' | 'sender'>; sentMs: number }[];
  lastSentMs: number;
  heardMs: number;
  /** The joiner said it is admitted (by a view this source may not have installed yet). */
  joinerAdmitted: boolean;
  syncedSent: boolean;
  finalSent: boolean;
}

/** The common part of a new session, which a strategy extends with its own cursor. */
export type SessionBase = Omit<SourceSession, 'mode'>;

export interface SourceConfig<S extends SourceSession> {
  readonly kinds: CatchUpKinds;
  /** A new session for a full member's request, or why it does not serve it. */
  open(ctx: RecoveryContext, msg: CatchUpRequestMsg, base: SessionBase): S | RejectReason;
  /** Where a replica that does not serve sends the requester (undefined: nowhere known). */
  hint(ctx: RecoveryContext): ActorId | undefined;
  /** The next batch of `s`, or undefined when nothing is due now (acks or new writes pump again). */
  fill(ctx: RecoveryContext, s: S): { mark: BatchMark; entries: WireEntry[] } | undefined;
  /** The session ended: `done` when its final marker was acknowledged. */
  closed(s: S, done: boolean): void;
}

/** Whether `view` holds the joiner under the incarnation that asked. */
export function admitsJoiner(view: View, s: SourceSession): boolean {
  return incarnationOf(view, s.joiner) === s.incarnation;
}

/**
 * The source side of a catch-up (owned by its replica's thread): sessions keyed by joiner,
 * batches numbered from 0 with at most WINDOW_BATCHES unacknowledged, resent after a
 * retransmit period, an empty `forward` batch as a keepalive once the joiner is synced, and
 * a session dropped when its joiner is silent for STALL_RETRANSMITS periods.
 */
export class CatchUpSource<S extends SourceSession> {
  readonly sessions = new Map<ActorId, S>();
  /** The newest request seen per joiner: duplicates and older ones are ignored. */
  readonly #latest = new Map<ActorId, { incarnation: number; id: number }>();
  readonly stats = {
    sessionsOpened: 0,
    sessionsDone: 0,
    sessionsDropped: 0,
    rejectsSent: 0,
    batchesSent: 0,
    entriesSent: 0,
    batchesResent: 0,
  };

  constructor(readonly config: SourceConfig<S>) {}

  /** Handles the source's messages; false for any other kind. */
  receive(ctx: RecoveryContext, msg: StrategyMessage): boolean {
    const { kinds } = this.config;
    if (msg.kind === kinds.request) this.#onRequest(ctx, msg as CatchUpRequestMsg);
    else if (msg.kind === kinds.ack) this.#onAck(ctx, msg as unknown as CatchUpAckMsg);
    else if (msg.kind === kinds.admitted)
      this.#onAdmitted(ctx, msg as unknown as CatchUpRequestMsg);
    else return false;
    return true;
  }

  #onRequest(ctx: RecoveryContext, msg: CatchUpRequestMsg): void {
    const latest = this.#latest.get(msg.sender);
    if (
      latest &&
      (msg.incarnation < latest.incarnation ||
        (msg.incarnation === latest.incarnation && msg.session <= latest.id))
    )
      return;
    this.#latest.set(msg.sender, { incarnation: msg.incarnation, id: msg.session });
    const reject = (reason: RejectReason): void =>
      this.#reject(ctx, msg.sender, msg.incarnation, msg.session, reason);
    const old = this.sessions.get(msg.sender);
    if (old) this.#close(old, false);
    if (!ctx.admitted || ctx.recovering) return reject('not-source');
    const member = incarnationOf(ctx.view, msg.sender);
    if (member !== undefined && member !== msg.incarnation) return reject('member');
    if (this.sessions.size >= MAX_SOURCE_SESSIONS) return reject('busy');
    const now = ctx.now();
    const opened = this.config.open(ctx, msg, {
      joiner: msg.sender,
      incarnation: msg.incarnation,
      id: msg.session,
      nextBatch: 0,
      unacked: [],
      lastSentMs: now,
      heardMs: now,
      joinerAdmitted: false,
      syncedSent: false,
      finalSent: false,
    });
    if (typeof opened === 'string') return reject(opened);
    this.sessions.set(msg.sender, opened);
    this.stats.sessionsOpened++;
    this.pump(ctx, opened);
  }

  #reject(
    ctx: RecoveryContext,
    to: ActorId,
    incarnation: number,
    session: number,
    reason: RejectReason,
  ): void {
    this.stats.rejectsSent++;
    const hint = reason === 'not-source' ? this.config.hint(ctx) : undefined;
    ctx.send(to, {
      kind: this.config.kinds.reject,
      incarnation,
      session,
      reason,
      hint: hint ?? NO_HINT,
    });
  }

  #session(msg: { sender: ActorId; incarnation: number; session: number }): S | undefined {
    const s = this.sessions.get(msg.sender);
    return s && s.incarnation === msg.incarnation && s.id === msg.session ? s : undefined;
  }

  #onAck(ctx: RecoveryContext, msg: CatchUpAckMsg): void {
    const s = this.#session(msg);
    if (!s) return;
    assert(
      msg.next <= s.nextBatch,
      `joiner ${s.joiner} acks batch ${msg.next - 1}, only ${s.nextBatch} sent`,
    );
    s.heardMs = ctx.now();
    while (s.unacked.length > 0 && (s.unacked[0]?.msg.batch ?? Infinity) < msg.next)
      s.unacked.shift();
    if (s.finalSent && s.unacked.length === 0) this.#close(s, true);
    else this.pump(ctx, s);
  }

  #onAdmitted(ctx: RecoveryContext, msg: CatchUpRequestMsg): void {
    const s = this.#session(msg);
    if (!s) return;
    s.heardMs = ctx.now();
    s.joinerAdmitted = true;
    this.pump(ctx, s);
  }

  /** Sends what `s` has due while its window has room. */
  pump(ctx: RecoveryContext, s: S): void {
    assert(this.sessions.get(s.joiner) === s, `pumping a closed session of joiner ${s.joiner}`);
    while (s.unacked.length < WINDOW_BATCHES && !s.finalSent) {
      const body = this.config.fill(ctx, s);
      if (!body) return;
      this.#send(ctx, s, body.mark, body.entries);
    }
  }

  #send(ctx: RecoveryContext, s: S, mark: BatchMark, entries: WireEntry[]): void {
    if (mark === 'synced') {
      assert(!s.syncedSent, 'one synced marker per session');
      s.syncedSent = true;
    }
    if (mark === 'final') {
      assert(s.syncedSent, 'the final marker follows synced');
      s.finalSent = true;
    }
    const msg = {
      kind: this.config.kinds.batch,
      incarnation: s.incarnation,
      session: s.id,
      batch: s.nextBatch++,
      mode: s.mode,
      mark,
      entries,
    };
    const now = ctx.now();
    s.unacked.push({ msg, sentMs: now });
    assert(s.unacked.length <= WINDOW_BATCHES, `at most ${WINDOW_BATCHES} batches in flight`);
    s.lastSentMs = now;
    this.stats.batchesSent++;
    this.stats.entriesSent += entries.length;
    ctx.send(s.joiner, msg);
  }

  /** Ends `s` early, telling its joiner why (it starts over). */
  abort(ctx: RecoveryContext, s: S, reason: RejectReason): void {
    this.#reject(ctx, s.joiner, s.incarnation, s.id, reason);
    this.#close(s, false);
  }

  #close(s: S, done: boolean): void {
    this.sessions.delete(s.joiner);
    if (done) this.stats.sessionsDone++;
    else this.stats.sessionsDropped++;
    this.config.closed(s, done);
  }

  /** A source that is no longer a full member ends its sessions; otherwise a view may unblock a final. */
  viewInstalled(ctx: RecoveryContext): void {
    const serving = ctx.admitted && !ctx.recovering;
    for (const s of [...this.sessions.values()]) {
      if (serving) this.pump(ctx, s);
      else this.abort(ctx, s, 'not-source');
    }
  }

  tick(ctx: RecoveryContext): void {
    const now = ctx.now();
    const { retransmitMs } = ctx.timing;
    for (const s of [...this.sessions.values()]) {
      if (now - s.heardMs > stallMs(ctx.timing)) {
        this.#close(s, false);
        continue;
      }
      const oldest = s.unacked[0];
      if (oldest && now - oldest.sentMs >= retransmitMs) {
        for (const u of s.unacked) {
          u.sentMs = now;
          this.stats.batchesResent++;
          ctx.send(s.joiner, u.msg);
        }
      }
      this.pump(ctx, s);
      // A keepalive, so a synced joiner waiting for its view tells a live source from a dead one.
      if (
        s.syncedSent &&
        !s.finalSent &&
        s.unacked.length === 0 &&
        now - s.lastSentMs >= retransmitMs
      ) {
        this.#send(ctx, s, 'forward', []);
      }
    }
  }
}
