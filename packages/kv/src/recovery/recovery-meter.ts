import assert from 'node:assert/strict';
import { Codec, type MessageDef, type MessageHeader } from '@heal/actors/core';
import type { StrategyMessage } from '../protocol/messages.js';
import type { RecoveryContext, RecoveryReport } from '../protocol/recovery-strategy.js';

type Wire = { kind: string } & MessageHeader;
/** One codec per strategy's message set: every replica (and every restart) meters with it. */
const codecs = new WeakMap<readonly MessageDef[], Codec<Wire>>();

/**
 * Measures one recovery at the recovering replica, the same way for every strategy (ARCHITECTURE.md
 * §6): phases as consecutive intervals from its restart (`load` first, then the
 * strategy's own, the last ending when it serves reads), and the wire bytes of every recovery
 * message it receives (its own codec's size of the message, header included).
 */
export class RecoveryMeter {
  readonly #codec: Codec<Wire>;
  #report: RecoveryReport | undefined;
  #active:
    | {
        incarnation: number;
        startedMs: number;
        lastMs: number;
        phasesMs: Record<string, number>;
        bytesMoved: number;
        entriesReceived: number;
        entriesApplied: number;
        counts: Record<string, number>;
      }
    | undefined;

  constructor(
    readonly strategy: string,
    messages: readonly MessageDef[],
  ) {
    let codec = codecs.get(messages);
    if (!codec) codecs.set(messages, (codec = new Codec<Wire>(messages)));
    this.#codec = codec;
  }

  get active(): boolean {
    return this.#active !== undefined;
  }

  /** A restarted replica starts recovering (its `load` phase already happened). */
  begin(ctx: RecoveryContext): void {
    this.#active = {
      incarnation: ctx.incarnation,
      startedMs: ctx.startedMs,
      lastMs: ctx.loadedMs,
      phasesMs: { load: ctx.loadedMs - ctx.startedMs },
      bytesMoved: 0,
      entriesReceived: 0,
      entriesApplied: 0,
      counts: {},
    };
    this.#report = undefined;
  }

  /** Ends phase `name` now (a phase entered twice, e.g. after a restarted session, adds up). */
  phase(name: string, nowMs: number): void {
    const a = this.#active;
    if (!a) return;
    assert(
      nowMs >= a.lastMs,
      `phase ${name} ends at ${nowMs} ms, before the previous one (${a.lastMs} ms)`,
    );
    a.phasesMs[name] = (a.phasesMs[name] ?? 0) + (nowMs - a.lastMs);
    a.lastMs = nowMs;
  }

  /** A recovery message reached the recovering replica. */
  received(msg: StrategyMessage): void {
    if (this.#active) this.#active.bytesMoved += this.#codec.sizeOf(msg as unknown as Wire);
  }

  entries(received: number, applied: number): void {
    if (!this.#active) return;
    this.#active.entriesReceived += received;
    this.#active.entriesApplied += applied;
  }

  count(name: string, n = 1): void {
    if (this.#active) this.#active.counts[name] = (this.#active.counts[name] ?? 0) + n;
  }

  /** The replica serves reads: the last phase ends and the report is final. */
  finish(lastPhase: string, nowMs: number): void {
    const a = this.#active;
    if (!a) return;
    this.phase(lastPhase, nowMs);
    this.#report = {
      strategy: this.strategy,
      incarnation: a.incarnation,
      startedMs: a.startedMs,
      recoveryMs: nowMs - a.startedMs,
      phasesMs: a.phasesMs,
      bytesMoved: a.bytesMoved,
      entriesReceived: a.entriesReceived,
      entriesApplied: a.entriesApplied,
      counts: a.counts,
    };
    this.#active = undefined;
  }

  report(): RecoveryReport | undefined {
    return this.#report;
  }
}
