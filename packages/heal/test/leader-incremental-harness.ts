import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors';
import {
  RECORD_WIRE_OVERHEAD_BYTES,
  SIM_TIMING,
  VersionVector,
  type KeyRecord,
  type KeyState,
  type RecoveryContext,
  type RecoveryStrategy,
  type StrategyMessage,
  type StrategyOptions,
  type View,
  type WireEntry,
} from '@heal/kv/replica';
import { leaderIncrementalRecovery } from '../src/leader-incremental.js';

/**
 * The leader-incremental unit tests check each step of a sync exactly, which a running cluster
 * cannot show: so they drive one replica's strategy by hand, without the replica around it, set
 * what the replica would (view, admission, records, those not at DP), and read what it sent.
 */

/** A batch as the source sent it. */
export interface Batch extends StrategyMessage {
  batch: number;
  mode: string;
  mark: string;
  entries: WireEntry[];
}

/** The replica that restarts and syncs, unless a test names another. */
export const JOINER = 1;

/** A view of `members` ([id, incarnation]), with `shadows`. */
export function viewOf(epoch: number, members: [ActorId, number][], shadows: ActorId[] = []): View {
  return { epoch, members: members.map(([id, incarnation]) => ({ id, incarnation })), shadows };
}

/** `key`'s record at `version`, whose wire size (recordWireBytes) is `bytes`. */
export function sized(
  key: string,
  version: number,
  bytes = 40,
  state: KeyState = 'valid',
): KeyRecord {
  const valueLength = bytes - key.length - RECORD_WIRE_OVERHEAD_BYTES;
  assert.ok(valueLength >= 0, `${bytes} bytes hold key ${key}`);
  return {
    key,
    ts: { version, cid: 0 },
    value: 'v'.repeat(valueLength),
    state,
    origin: 0,
    seq: version,
  };
}

/** A batch's mode, mark and the keys and versions of its entries: `mode/mark:key@version,...`. */
export function batchSummary(msg: StrategyMessage): string {
  const { mode, mark, entries } = msg as Batch;
  return `${mode}/${mark}:${entries.map((e) => `${e.key}@${e.version}`).join(',')}`;
}

/** One replica's leader-incremental strategy; by default the keeper, replica 0 of three. */
export class LiReplica {
  readonly strategy: RecoveryStrategy;
  readonly records = new Map<string, KeyRecord>();
  /** What ctx.notDurable() yields. */
  notDurable: KeyRecord[] = [];
  /** Every message the strategy sent and no test took yet, in order. */
  readonly sent: { to: ActorId; msg: StrategyMessage }[] = [];
  admitted = true;
  recovering = false;
  incarnation = 0;
  nowMs = 0;
  #session = 0;

  constructor(
    options: StrategyOptions = {},
    readonly self: ActorId = 0,
    public view: View = viewOf(1, [
      [0, 0],
      [1, 0],
      [2, 0],
    ]),
  ) {
    this.strategy = leaderIncrementalRecovery.create(self, options);
  }

  get ctx(): RecoveryContext {
    return {
      self: this.self,
      incarnation: this.incarnation,
      startedMs: 0,
      loadedMs: 0,
      view: this.view,
      admitted: this.admitted,
      timing: SIM_TIMING,
      now: () => this.nowMs,
      random: () => 0.5,
      send: (to, msg) => {
        this.sent.push({ to, msg: { ...msg, epoch: this.view.epoch, sender: this.self } });
      },
      records: () => this.records,
      recordsInBuckets: () => [],
      loadedDigest: () => undefined,
      notDurable: () => this.notDurable,
      installRecovered: () => false,
      persistRecovered: () => undefined,
      finishRecovery: () => undefined,
      recovering: this.recovering,
      versionVector: new VersionVector(),
    };
  }

  /** The first start: every member holds the same dataset, `keys` records of `bytes` each. */
  start(keys = 0, bytes = 40): this {
    for (let i = 0; i < keys; i++) this.records.set(`k${i}`, sized(`k${i}`, 1, bytes));
    this.strategy.onStart?.(this.ctx);
    return this;
  }

  /** `record` becomes the key's record here (a write became Valid, or changed state). */
  apply(record: KeyRecord): void {
    const previous = this.records.get(record.key)?.ts;
    this.records.set(record.key, record);
    this.strategy.onApply?.(this.ctx, record, previous);
  }

  /** `count` writes of keys w0, w1, ... (`bytes` each), at `version`. */
  write(count: number, version = 2, bytes = 40): void {
    for (let i = 0; i < count; i++) this.apply(sized(`w${i}`, version, bytes));
  }

  install(view: View): void {
    const previous = this.view;
    this.view = view;
    this.strategy.onViewInstalled(this.ctx, previous, true);
  }

  /** The next view, without `id` (it failed). */
  remove(id: ActorId = JOINER): void {
    this.#next(
      this.view.members.filter((m) => m.id !== id),
      [],
    );
  }

  /** The next view, admitting `id` at `incarnation` as a shadow (it still finishes its recovery). */
  admit(id: ActorId = JOINER, incarnation = 1): void {
    const members = [...this.view.members.filter((m) => m.id !== id), { id, incarnation }];
    members.sort((a, b) => a.id - b.id);
    this.#next(members, [...this.view.shadows, id]);
  }

  /** The next view, where `id` is a full member (it finished its recovery). */
  full(id: ActorId = JOINER): void {
    this.#next(
      this.view.members,
      this.view.shadows.filter((s) => s !== id),
    );
  }

  #next(members: View['members'], shadows: ActorId[]): void {
    this.install({ epoch: this.view.epoch + 1, members, shadows });
  }

  tick(): void {
    this.strategy.tick(this.ctx);
  }

  receive(body: { kind: string; [field: string]: unknown }, from: ActorId = JOINER): void {
    this.strategy.receive(this.ctx, { ...body, epoch: this.view.epoch, sender: from });
  }

  /** `from`'s sync request (a new session), its medium having kept `keptKeys` records. */
  request(keptKeys: number, fallback = false, from: ActorId = JOINER, incarnation = 1): void {
    this.receive(
      { kind: 'li-request', incarnation, session: ++this.#session, keptKeys, fallback },
      from,
    );
  }

  /** `from` holds every batch below `next` of its current session. */
  ack(next: number, from: ActorId = JOINER, incarnation = 1): void {
    this.receive({ kind: 'li-ack', incarnation, session: this.#session, next }, from);
  }

  /** `from` says its view admitted it. */
  joinerAdmitted(from: ActorId = JOINER, incarnation = 1): void {
    this.receive({ kind: 'li-admitted', incarnation, session: this.#session }, from);
  }

  /** Acks every batch sent so far to `to`. */
  ackAll(to: ActorId = JOINER): void {
    const last = this.batches(to).at(-1);
    if (last) this.ack(last.batch + 1, to);
  }

  /** The messages sent so far (of `kind` if given), in order; they are gone from `sent`. */
  take(kind?: string): StrategyMessage[] {
    const taken: StrategyMessage[] = [];
    for (let i = 0; i < this.sent.length;) {
      const { msg } = this.sent[i] as { msg: StrategyMessage };
      if (kind === undefined || msg.kind === kind) {
        taken.push(msg);
        this.sent.splice(i, 1);
      } else i++;
    }
    return taken;
  }

  /** The batches sent to `to` so far, in order. */
  batches(to: ActorId = JOINER): Batch[] {
    return this.sent
      .filter((s) => s.to === to && s.msg.kind === 'li-batch')
      .map((s) => s.msg as Batch);
  }

  /** Marks and entry counts of the batches sent to `to`, as `mark:count`. */
  marks(to: ActorId = JOINER): string[] {
    return this.batches(to).map((b) => `${b.mark}:${b.entries.length}`);
  }

  /** The rejects sent to `to`, as `reason` (with `/hint` when one is named). */
  rejects(to: ActorId = JOINER): string[] {
    return this.sent
      .filter((s) => s.to === to && s.msg.kind === 'li-reject')
      .map((s) =>
        s.msg['hint'] === 0xffff
          ? String(s.msg['reason'])
          : `${String(s.msg['reason'])}/${String(s.msg['hint'])}`,
      );
  }

  stat(name: string): number {
    const value = this.strategy.stats?.()[name];
    assert.ok(value !== undefined, `stat ${name}`);
    return value;
  }
}
