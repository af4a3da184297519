import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import type { StrategyMessage } from '../protocol/messages.js';
import type { RecoveryContext } from '../protocol/recovery-strategy.js';
import { incarnationOf, isColdStartView, isFullMember, type View } from '../protocol/view.js';
import {
  memberBackoffMs,
  NO_HINT,
  stallMs,
  toRecord,
  WINDOW_BATCHES,
  type BatchMark,
  type CatchUpBatchMsg,
  type CatchUpKinds,
  type CatchUpRejectMsg,
  type SyncMode,
} from './catch-up-messages.js';
import type { RecoveryMeter } from './recovery-meter.js';

/** What the receiver tells a source besides its session: what its medium kept, and whether any source will do. */
export interface JoinerState {
  /** Records this replica held when it started catching up (0: its medium kept nothing). */
  readonly keptKeys: number;
  /** A replica that is not the designated source was asked to serve anyway (none is known). */
  readonly fallback: boolean;
}

export interface JoinerConfig {
  readonly kinds: CatchUpKinds;
  readonly meter: RecoveryMeter;
  /** The phase that ends when the base (copy, snapshot) is in, if the strategy has one. */
  readonly basePhase: string | undefined;
  /** The phase that ends at `synced` (the replica may join). */
  readonly syncedPhase: string;
  /** The count each mark's entries add to. */
  readonly entryCounts: Readonly<Record<BatchMark, string>>;
  /** The replica to ask at attempt `attempt`, or undefined while none is known. */
  source(ctx: RecoveryContext, attempt: number): ActorId | undefined;
  requestFields(state: JoinerState): Record<string, unknown>;
}

interface Session {
  readonly source: ActorId;
  readonly id: number;
  /** Every batch below `next` is applied; later ones wait in `early` (at most WINDOW_BATCHES). */
  next: number;
  readonly early: Map<number, CatchUpBatchMsg>;
  mode: SyncMode | undefined;
  baseDone: boolean;
  synced: boolean;
  done: boolean;
  progressMs: number;
  admittedSentMs: number;
}

/**
 * The recovering replica's side of a catch-up (owned by its replica's thread): it holds back
 * its join, asks a source for a session, applies the batches in order (newer-only installs),
 * asks to join once `synced`, tells the source when admitted, and becomes a full replica at
 * the final marker. A session that stalls or is rejected starts over, with another source
 * when that one is gone.
 */
export class CatchUpJoiner {
  #needed = false;
  #session: Session | undefined;
  #nextId = 1;
  #attempt = 0;
  #hint: ActorId | undefined;
  #fallback = false;
  #quietUntilMs = -Infinity;
  #keptKeys = 0;
  readonly stats = {
    sessions: 0,
    rejects: 0,
    stalls: 0,
    batchesApplied: 0,
    entriesApplied: 0,
    staleBatches: 0,
  };

  constructor(readonly config: JoinerConfig) {}

  /** A restarted replica catches up before it joins. */
  start(ctx: RecoveryContext): void {
    if (ctx.incarnation === 0) return;
    this.config.meter.begin(ctx);
    this.#begin(ctx);
  }

  #begin(ctx: RecoveryContext): void {
    this.#needed = true;
    this.#keptKeys = ctx.records().size;
    this.#attempt = 0;
    this.#hint = undefined;
    this.#fallback = false;
    this.#request(ctx);
  }

  readyToJoin(): boolean {
    return !this.#needed || this.#session?.synced === true;
  }

  viewInstalled(ctx: RecoveryContext, previous: View): void {
    // Removed while alive: it misses writes from now on, so it catches up again before rejoining.
    if (incarnationOf(previous, ctx.self) === ctx.incarnation && !ctx.admitted) this.#begin(ctx);
    // Admitted by a cold start (every replica restarted): the replica reconciles with every
    // member instead, and there is no full member to catch up from. A session still open would
    // stream to a replica that is full by the time its final marker comes.
    else if (ctx.admitted && isColdStartView(ctx.view)) this.#stop();
  }

  #stop(): void {
    this.#needed = false;
    this.#session = undefined;
  }

  admitted(ctx: RecoveryContext): void {
    this.config.meter.phase('join', ctx.now());
    if (!this.#needed) this.#begin(ctx);
    const s = this.#session;
    if (s?.synced) this.#sendAdmitted(ctx, s);
  }

  /** Handles the receiver's messages; false for any other kind. */
  receive(ctx: RecoveryContext, msg: StrategyMessage): boolean {
    if (msg.kind === this.config.kinds.batch) this.#onBatch(ctx, msg as unknown as CatchUpBatchMsg);
    else if (msg.kind === this.config.kinds.reject)
      this.#onReject(ctx, msg as unknown as CatchUpRejectMsg);
    else return false;
    return true;
  }

  #current(ctx: RecoveryContext, msg: CatchUpBatchMsg | CatchUpRejectMsg): Session | undefined {
    const s = this.#session;
    if (s && msg.sender === s.source && msg.session === s.id && msg.incarnation === ctx.incarnation)
      return s;
    return undefined;
  }

  #onBatch(ctx: RecoveryContext, msg: CatchUpBatchMsg): void {
    const s = this.#current(ctx, msg);
    if (!s) {
      this.stats.staleBatches++;
      return;
    }
    s.progressMs = ctx.now();
    // Beyond the window: the source sends it again once the earlier ones are acked.
    if (msg.batch >= s.next + WINDOW_BATCHES) return;
    if (msg.batch >= s.next && !s.early.has(msg.batch)) s.early.set(msg.batch, msg);
    for (let b = s.early.get(s.next); b !== undefined; b = s.early.get(s.next)) {
      s.early.delete(s.next);
      s.next++;
      this.#apply(ctx, s, b);
    }
    assert(s.early.size <= WINDOW_BATCHES, `at most ${WINDOW_BATCHES} batches wait out of order`);
    ctx.send(s.source, {
      kind: this.config.kinds.ack,
      incarnation: ctx.incarnation,
      session: s.id,
      next: s.next,
    });
  }

  #apply(ctx: RecoveryContext, s: Session, b: CatchUpBatchMsg): void {
    const { meter } = this.config;
    let applied = 0;
    for (const e of b.entries) if (ctx.installRecovered(toRecord(e), s.source)) applied++;
    meter.entries(b.entries.length, applied);
    if (b.entries.length > 0) meter.count(this.config.entryCounts[b.mark], b.entries.length);
    this.stats.batchesApplied++;
    this.stats.entriesApplied += applied;
    if (s.mode === undefined) {
      s.mode = b.mode;
      meter.count(b.mode);
    }
    const now = ctx.now();
    if (b.mark !== 'base' && !s.baseDone) {
      s.baseDone = true;
      if (this.config.basePhase !== undefined) meter.phase(this.config.basePhase, now);
    }
    // In sync from the source's point of view: what was streamed is durable here first (a
    // keeper records resume positions past it, and those writes reached DP without this replica).
    if (b.mark === 'synced' || b.mark === 'final') ctx.persistRecovered();
    if (b.mark === 'synced') {
      assert(!s.synced, 'one synced marker per session');
      s.synced = true;
      meter.phase(this.config.syncedPhase, now);
      if (ctx.admitted) this.#sendAdmitted(ctx, s);
    } else if (b.mark === 'final') {
      assert(
        s.synced && ctx.admitted && ctx.recovering,
        'the final marker reaches an admitted, synced, recovering replica',
      );
      s.done = true;
      this.#needed = false;
      meter.finish('finalize', now);
      ctx.finishRecovery();
    }
  }

  #onReject(ctx: RecoveryContext, msg: CatchUpRejectMsg): void {
    const s = this.#current(ctx, msg);
    if (!s || s.done) return;
    this.stats.rejects++;
    this.config.meter.count('rejects');
    switch (msg.reason) {
      case 'member':
        // Its old incarnation must leave the view first: stay silent so everyone suspects it.
        this.#session = undefined;
        this.#quietUntilMs = ctx.now() + memberBackoffMs(ctx.timing);
        return;
      case 'overflow':
        this.config.meter.count('overflows');
        this.#hint = s.source;
        break;
      case 'not-source':
        if (msg.hint !== NO_HINT && msg.hint !== ctx.self && msg.hint !== s.source)
          this.#hint = msg.hint;
        else {
          this.#fallback = true;
          this.#attempt++;
        }
        break;
      case 'busy':
        this.#attempt++;
        break;
    }
    this.#request(ctx);
  }

  tick(ctx: RecoveryContext): void {
    if (!this.#needed) return;
    const now = ctx.now();
    const s = this.#session;
    if (!s) {
      if (now >= this.#quietUntilMs) this.#request(ctx);
      return;
    }
    if (now - s.progressMs > stallMs(ctx.timing)) {
      // The source crashed, left, or the request was lost: ask the next candidate.
      this.stats.stalls++;
      this.config.meter.count('stalls');
      this.#attempt++;
      this.#request(ctx);
      return;
    }
    if (s.synced && ctx.admitted && now - s.admittedSentMs >= ctx.timing.retransmitMs)
      this.#sendAdmitted(ctx, s);
  }

  #request(ctx: RecoveryContext): void {
    const to = this.#hint ?? this.config.source(ctx, this.#attempt);
    this.#hint = undefined;
    if (to === undefined) {
      this.#session = undefined;
      return;
    }
    const s: Session = {
      source: to,
      id: this.#nextId++,
      next: 0,
      early: new Map(),
      mode: undefined,
      baseDone: false,
      synced: false,
      done: false,
      progressMs: ctx.now(),
      admittedSentMs: -Infinity,
    };
    this.#session = s;
    this.stats.sessions++;
    this.config.meter.count('sessions');
    const fields = this.config.requestFields({
      keptKeys: this.#keptKeys,
      fallback: this.#fallback,
    });
    ctx.send(to, {
      kind: this.config.kinds.request,
      incarnation: ctx.incarnation,
      session: s.id,
      ...fields,
    });
  }

  #sendAdmitted(ctx: RecoveryContext, s: Session): void {
    s.admittedSentMs = ctx.now();
    ctx.send(s.source, {
      kind: this.config.kinds.admitted,
      incarnation: ctx.incarnation,
      session: s.id,
    });
  }
}

/**
 * The source a catching-up replica asks at `attempt`: the full members of its view in turn,
 * lowest id first (the view may be stale while the replica is not admitted; a candidate that
 * cannot serve says so, and a silent one is passed over after a stall).
 */
export function sourceCandidate(view: View, self: ActorId, attempt: number): ActorId | undefined {
  const ids = view.members
    .filter((m) => m.id !== self && isFullMember(view, m.id))
    .map((m) => m.id);
  ids.sort((a, b) => a - b);
  return ids.length === 0 ? undefined : ids[attempt % ids.length];
}
