import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors';
import {
  RECORD_WIRE_OVERHEAD_BYTES,
  SIM_TIMING,
  type KeyRecord,
  type KeyState,
  type RecoveryContext,
  type RecoveryStrategy,
  type RecoveryStrategyFactory,
  type StrategyMessage,
  type StrategyOptions,
  type View,
  type WireEntry,
  VersionVector,
} from '@heal/kv/replica';
import { leaderIncrementalRecovery } from '../src/leader-incremental.js';

/**
 * The harness of the leader-incremental unit tests: one replica's strategy (by default the keeper,
 * replica 0 of a three-member view) driven by hand, without the replica around it. The test
 * applies writes (onApply), installs views, hands it the joiner's messages and reads what it
 * sent and its stats, so each step of a sync can be checked exactly.
 */

export type Msg = StrategyMessage & { [field: string]: unknown };

/** A batch as the source sent it. */
export interface Batch extends Msg {
  batch: number;
  mode: string;
  mark: string;
  entries: WireEntry[];
}

export const JOINER = 1;

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

export class Replica {
  readonly records = new Map<string, KeyRecord>();
  /** What ctx.notDurable() yields. */
  notDurable: KeyRecord[] = [];
  readonly sent: { to: ActorId; msg: Msg }[] = [];
  readonly strategy: RecoveryStrategy;
  view: View;
  admitted = true;
  recovering = false;
  #session = 0;

  constructor(
    options: StrategyOptions = {},
    readonly self: ActorId = 0,
    factory: RecoveryStrategyFactory = leaderIncrementalRecovery,
    members = 3,
  ) {
    this.strategy = factory.create(self, options);
    this.view = {
      epoch: 1,
      members: Array.from({ length: members }, (_, id) => ({ id, incarnation: 0 })),
      shadows: [],
    };
  }

  get ctx(): RecoveryContext {
    return {
      self: this.self,
      incarnation: 0,
      startedMs: 0,
      loadedMs: 0,
      view: this.view,
      admitted: this.admitted,
      timing: SIM_TIMING,
      now: () => 0,
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

  install(view: Omit<View, 'epoch'>): void {
    const previous = this.view;
    this.view = { ...view, epoch: previous.epoch + 1 };
    this.strategy.onViewInstalled(this.ctx, previous, true);
  }

  /** A view without `id` (it failed). */
  remove(id: ActorId = JOINER): void {
    this.install({ members: this.view.members.filter((m) => m.id !== id), shadows: [] });
  }

  /** A view that admits `id` at `incarnation` as a shadow (it still finishes its recovery). */
  admit(id: ActorId = JOINER, incarnation = 1): void {
    const members = [...this.view.members.filter((m) => m.id !== id), { id, incarnation }];
    members.sort((a, b) => a.id - b.id);
    this.install({ members, shadows: [...this.view.shadows, id] });
  }

  /** A view where `id` is a full member (it finished its recovery). */
  full(id: ActorId = JOINER): void {
    this.install({
      members: this.view.members,
      shadows: this.view.shadows.filter((s) => s !== id),
    });
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

  /** Takes the messages sent so far (they are gone from `sent`). */
  take(): { to: ActorId; msg: Msg }[] {
    return this.sent.splice(0);
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
    const stats = this.strategy.stats?.() ?? {};
    const value = stats[name];
    assert.ok(value !== undefined, `stat ${name}`);
    return value;
  }
}
