import type { ActorId } from '@heal/actors/core';
import type { StrategyMessage } from '../protocol/messages.js';
import type {
  RecoveryContext,
  RecoveryReport,
  RecoveryStrategy,
} from '../protocol/recovery-strategy.js';
import type { View } from '../protocol/view.js';
import type {
  BatchMark,
  CatchUpMessages,
  CatchUpRequestMsg,
  RejectReason,
  WireEntry,
} from './catch-up-messages.js';
import { CatchUpJoiner, type JoinerConfig } from './catch-up-joiner.js';
import { CatchUpSource, type SessionBase, type SourceSession } from './catch-up-source.js';
import { RecoveryMeter } from './recovery-meter.js';

/**
 * A strategy whose restarted replica catches up before it joins (kv's full-copy, heal's
 * leader-incremental): every replica is both a possible joiner and a possible source. This
 * wires the two sides and the meter to the replica's hooks; a strategy says what a source
 * sends (`open`, `fill`) and adds its own hooks.
 */
export abstract class CatchUpRecovery<S extends SourceSession> implements RecoveryStrategy {
  protected readonly meter: RecoveryMeter;
  protected readonly joiner: CatchUpJoiner;
  protected readonly source: CatchUpSource<S>;

  constructor(
    readonly name: string,
    messages: CatchUpMessages,
    joiner: Omit<JoinerConfig, 'kinds' | 'meter'>,
  ) {
    this.meter = new RecoveryMeter(name, messages.messages);
    this.joiner = new CatchUpJoiner({ ...joiner, kinds: messages.kinds, meter: this.meter });
    this.source = new CatchUpSource<S>({
      kinds: messages.kinds,
      open: (ctx, msg, base) => this.open(ctx, msg, base),
      hint: (ctx) => this.hint(ctx),
      fill: (ctx, s) => this.fill(ctx, s),
      closed: (s, done) => this.closed(s, done),
    });
  }

  /** A new session for a full member's request, or why it does not serve it (see SourceConfig). */
  protected abstract open(
    ctx: RecoveryContext,
    msg: CatchUpRequestMsg,
    base: SessionBase,
  ): S | RejectReason;
  /** The next batch of `s`, or undefined when nothing is due now (see SourceConfig). */
  protected abstract fill(
    ctx: RecoveryContext,
    s: S,
  ): { mark: BatchMark; entries: WireEntry[] } | undefined;

  /** Where a replica that does not serve sends the requester (default: nowhere known). */
  protected hint(_ctx: RecoveryContext): ActorId | undefined {
    return undefined;
  }

  /** A session ended, `done` when its final marker was acknowledged (default: nothing to do). */
  protected closed(_s: S, _done: boolean): void {}

  onStart(ctx: RecoveryContext): void {
    this.joiner.start(ctx);
  }

  readyToJoin(): boolean {
    return this.joiner.readyToJoin();
  }

  onAdmitted(ctx: RecoveryContext): void {
    this.joiner.admitted(ctx);
  }

  onViewInstalled(ctx: RecoveryContext, previous: View): void {
    this.joiner.viewInstalled(ctx, previous);
    this.source.viewInstalled(ctx);
  }

  receive(ctx: RecoveryContext, msg: StrategyMessage): void {
    this.meter.received(msg);
    if (!this.joiner.receive(ctx, msg)) this.source.receive(ctx, msg);
  }

  tick(ctx: RecoveryContext): void {
    this.joiner.tick(ctx);
    this.source.tick(ctx);
  }

  abstract stats(): Record<string, number>;

  /** Both sides' counters, each name after `prefix` (`fc` gives fcSessions, fcSessionsServed, ...). */
  protected catchUpStats(prefix: string): Record<string, number> {
    const j = this.joiner.stats;
    const s = this.source.stats;
    const counters: Record<string, number> = {
      Sessions: j.sessions,
      Rejects: j.rejects,
      Stalls: j.stalls,
      BatchesApplied: j.batchesApplied,
      EntriesApplied: j.entriesApplied,
      StaleBatches: j.staleBatches,
      SessionsServed: s.sessionsOpened,
      SessionsDone: s.sessionsDone,
      SessionsDropped: s.sessionsDropped,
      RejectsSent: s.rejectsSent,
      BatchesSent: s.batchesSent,
      EntriesSent: s.entriesSent,
      BatchesResent: s.batchesResent,
    };
    return Object.fromEntries(Object.entries(counters).map(([name, n]) => [`${prefix}${name}`, n]));
  }

  report(): RecoveryReport | undefined {
    return this.meter.report();
  }
}
