import type { ActorId } from '@heal/actors';
import {
  SIM_TIMING,
  VersionVector,
  type KeyRecord,
  type RecoveryContext,
  type RecoveryStrategy,
  type StrategyOptions,
  type View,
} from '@heal/kv/replica';
import { leaderIncrementalRecovery } from '../src/leader-incremental.js';

/**
 * One replica's leader-incremental strategy without the replica around it: the test sets what
 * the replica would (view, admission, its records and those not at DP), calls the hooks the
 * replica calls, and reads the messages the strategy sent and its stats.
 */

export type Sent = { to: ActorId; msg: { kind: string; [field: string]: unknown } };

/** A view of `members` ([id, incarnation]), with `shadows`. */
export function viewOf(epoch: number, members: [ActorId, number][], shadows: ActorId[] = []): View {
  return { epoch, members: members.map(([id, incarnation]) => ({ id, incarnation })), shadows };
}

export class LiNode {
  readonly strategy: RecoveryStrategy;
  readonly records = new Map<string, KeyRecord>();
  /** What ctx.notDurable() returns. */
  notDurable: KeyRecord[] = [];
  admitted = true;
  recovering = false;
  incarnation = 0;
  nowMs = 0;
  /** Every message the strategy sent, in order. */
  readonly sent: Sent[] = [];

  constructor(
    readonly id: ActorId,
    public view: View,
    options: StrategyOptions = {},
  ) {
    this.strategy = leaderIncrementalRecovery.create(id, options);
  }

  get ctx(): RecoveryContext {
    return {
      self: this.id,
      incarnation: this.incarnation,
      startedMs: 0,
      loadedMs: 0,
      view: this.view,
      admitted: this.admitted,
      timing: SIM_TIMING,
      now: () => this.nowMs,
      random: () => 0.5,
      send: (to, msg) => this.sent.push({ to, msg }),
      records: () => this.records,
      recordsInBuckets: () => [],
      loadedDigest: () => undefined,
      notDurable: () => this.notDurable,
      installRecovered: () => false,
      persistRecovered: () => {},
      finishRecovery: () => {},
      recovering: this.recovering,
      versionVector: new VersionVector(),
    };
  }

  start(): void {
    this.strategy.onStart?.(this.ctx);
  }

  install(view: View): void {
    const previous = this.view;
    this.view = view;
    this.strategy.onViewInstalled(this.ctx, previous, true);
  }

  /** A write became Valid (or changed state) here. */
  apply(record: KeyRecord): void {
    const previous = this.records.get(record.key);
    this.records.set(record.key, record);
    this.strategy.onApply?.(this.ctx, record, previous?.ts);
  }

  receive(from: ActorId, body: { kind: string; [field: string]: unknown }): void {
    this.strategy.receive(this.ctx, { ...body, epoch: this.view.epoch, sender: from });
  }

  /** A recovering replica's li-request. */
  request(
    from: ActorId,
    incarnation: number,
    session: number,
    keptKeys: number,
    fallback = false,
  ): void {
    this.receive(from, { kind: 'li-request', incarnation, session, keptKeys, fallback });
  }

  tick(): void {
    this.strategy.tick(this.ctx);
  }

  stat(name: string): number | undefined {
    return this.strategy.stats?.()[name];
  }

  /** The messages of `kind` sent since the last call, removed from `sent`. */
  take(kind: string): Sent['msg'][] {
    const taken: Sent['msg'][] = [];
    for (let i = 0; i < this.sent.length;) {
      const s = this.sent[i] as Sent;
      if (s.msg.kind === kind) {
        taken.push(s.msg);
        this.sent.splice(i, 1);
      } else i++;
    }
    return taken;
  }
}

/** A batch's mark and the keys and versions of its entries (`key@version`). */
export function batchSummary(msg: Sent['msg']): string {
  const entries = msg['entries'] as { key: string; version: number }[];
  return `${String(msg['mode'])}/${String(msg['mark'])}:${entries.map((e) => `${e.key}@${e.version}`).join(',')}`;
}
