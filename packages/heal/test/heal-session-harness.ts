import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors';
import {
  BucketDigest,
  compareTs,
  RecoveryMeter,
  SIM_TIMING,
  VersionVector,
  type KeyRecord,
  type RecoveryContext,
  type StrategyMessage,
  type View,
} from '@heal/kv/replica';
import { HealBuddy } from '../src/heal-buddy.js';
import { healFaults } from '../src/heal-faults.js';
import { HealJoiner } from '../src/heal-joiner.js';
import { HEAL_MESSAGES } from '../src/heal-messages.js';

/**
 * The harness of the HEAL session tests: one HEAL recovery between the Buddy's and the joiner's
 * state machines (ARCHITECTURE.md §6), without the replicas around them. Nodes hold records,
 * digests and a HealBuddy and HealJoiner each, and a network delivers their messages in order
 * (or drops or repeats the ones a test names). The replicas' side (applying a record, the version
 * vector, persistRecovered, finishRecovery) is a few lines here, so each step of the exchange can
 * be checked exactly.
 */

export type Msg = StrategyMessage & { [field: string]: unknown };

export class Node {
  readonly records = new Map<string, KeyRecord>();
  readonly digest = new BucketDigest();
  readonly meter = new RecoveryMeter('heal', HEAL_MESSAGES);
  readonly buddy: HealBuddy;
  readonly joiner: HealJoiner;
  versionVector = new VersionVector();
  /** persistRecovered, finishRecovery and the heal-done it sends, in order. */
  readonly log: string[] = [];
  recovering = false;
  admitted = true;
  incarnation = 0;
  down = false;

  constructor(
    readonly id: ActorId,
    readonly net: Net,
    clusterKey: Uint8Array | undefined,
  ) {
    this.buddy = new HealBuddy(id, this.digest, 1 << 20, clusterKey, healFaults({}));
    this.joiner = new HealJoiner(id, this.digest, this.meter, clusterKey);
  }

  get ctx(): RecoveryContext {
    return {
      self: this.id,
      incarnation: this.incarnation,
      startedMs: 0,
      loadedMs: 0,
      view: this.net.view,
      admitted: this.admitted,
      timing: SIM_TIMING,
      now: () => this.net.nowMs,
      random: () => 0.5,
      send: (to: ActorId, msg: { kind: string }) => {
        if (msg.kind === 'heal-done') this.log.push('heal-done');
        this.net.post(this.id, to, msg);
      },
      records: () => this.records,
      recordsInBuckets: (buckets: ReadonlySet<number>) =>
        [...this.records.values()].filter((r) => buckets.has(this.digest.bucketOf(r.key))),
      loadedDigest: () => undefined,
      notDurable: () => [],
      installRecovered: (entry: KeyRecord) => this.write(entry),
      persistRecovered: () => this.log.push('persist'),
      finishRecovery: () => {
        this.log.push('finish');
        this.recovering = false;
      },
      recovering: this.recovering,
      versionVector: this.versionVector,
    };
  }

  /** Applies `record` if it is newer than the one held, as a replica's onApply does; whether it did. */
  write(record: KeyRecord): boolean {
    const previous = this.records.get(record.key);
    if (previous && compareTs(previous.ts, record.ts) >= 0) return false;
    this.records.set(record.key, record);
    this.digest.update(record.key, previous?.ts, record.ts);
    this.buddy.handoffs.applied(record);
    return true;
  }

  /**
   * Installs `view` at this node's Buddy alone, as a replica whose view lags or leads the others'
   * (the Net's view becomes `view`: deliver to the other nodes by hand meanwhile).
   */
  installBuddy(view: View, wasFull = true): void {
    const previous = this.net.view;
    this.net.view = view;
    this.buddy.viewInstalled(this.ctx, previous, wasFull);
  }

  receive(msg: Msg): void {
    if (this.recovering && this.joiner.joining) this.meter.received(msg);
    const ctx = this.ctx;
    if (!this.joiner.receive(ctx, msg))
      assert.ok(this.buddy.receive(ctx, msg), `${msg.kind} is handled`);
  }
}

export class Net {
  nowMs = 0;
  view: View;
  readonly nodes: Node[];
  readonly queue: { to: ActorId; msg: Msg }[] = [];
  /** Every message posted, by kind. */
  readonly posted = new Map<string, number>();
  /** Whether to drop a message (the n-th of its kind, from 1). */
  drop: (msg: Msg, to: ActorId, n: number) => boolean = () => false;
  duplicate = false;

  constructor(count: number, clusterKeys: (Uint8Array | undefined)[] = []) {
    this.view = {
      epoch: 1,
      members: Array.from({ length: count }, (_, id) => ({ id, incarnation: 0 })),
      shadows: [],
    };
    this.nodes = Array.from({ length: count }, (_, id) => new Node(id, this, clusterKeys[id]));
  }

  post(from: ActorId, to: ActorId, body: { kind: string }): void {
    const msg = { ...body, epoch: this.view.epoch, sender: from } as Msg;
    const n = (this.posted.get(msg.kind) ?? 0) + 1;
    this.posted.set(msg.kind, n);
    if (this.drop(msg, to, n)) return;
    this.queue.push({ to, msg });
    if (this.duplicate) this.queue.push({ to, msg });
  }

  deliverAll(): void {
    for (let i = 0; this.queue.length > 0; i++) {
      assert.ok(i < 1_000_000, 'the exchange settles');
      const { to, msg } = this.queue.shift() as { to: ActorId; msg: Msg };
      const node = this.nodes[to] as Node;
      if (!node.down) node.receive(msg);
    }
  }

  /** Removes the queued messages of `kind` and returns them, to deliver (or alter) by hand. */
  take(kind: string): Msg[] {
    const taken: Msg[] = [];
    for (let i = 0; i < this.queue.length;) {
      const { msg } = this.queue[i] as { msg: Msg };
      if (msg.kind === kind) {
        taken.push(msg);
        this.queue.splice(i, 1);
      } else i++;
    }
    return taken;
  }

  /** The queued messages of `kind`, in order. */
  queued(kind: string): Msg[] {
    return this.queue.filter((q) => q.msg.kind === kind).map((q) => q.msg);
  }

  /** The kinds of the queued messages, in order. */
  queuedKinds(): string[] {
    return this.queue.map((q) => q.msg.kind);
  }

  /** Installs `view` at every node up (`wasFull` per node), as replicas do. */
  install(view: View, wasFull: (node: Node) => boolean, previous = this.view): void {
    this.view = view;
    for (const node of this.nodes) {
      if (node.down) continue;
      const ctx = node.ctx;
      node.buddy.viewInstalled(ctx, previous, wasFull(node));
      node.joiner.viewInstalled(ctx);
    }
  }

  tick(): void {
    this.nowMs += SIM_TIMING.tickMs;
    for (const node of this.nodes) {
      if (node.down) continue;
      node.joiner.tick(node.ctx);
      node.buddy.tick(node.ctx);
    }
  }

  /** Delivers and ticks until `done`; the ticks it took. */
  run(done: () => boolean, maxTicks = 5000): number {
    for (let t = 0; t < maxTicks; t++) {
      this.deliverAll();
      if (done()) return t;
      this.tick();
    }
    return assert.fail('the recovery did not finish');
  }
}

export const rec = (key: string, version: number, seq: number): KeyRecord => ({
  key,
  ts: { version, cid: 0 },
  value: `${key}=${version}`,
  state: 'valid',
  origin: 0,
  seq,
});
export const keyOf = (i: number): string => `k${i}`;
export const JOINER = 1;
export const BUDDY = 2;

/**
 * Four nodes hold `keys` keys; node 1 fails (the view drops it; node 2 is its Buddy); the others
 * take a second write of the first `written` keys; node 1 restarts (keeping its records or not,
 * `kept`; its medium's version vector covering writes 1..keys, and with `ownFirst` the first
 * write of the outage too, which it then holds), and the next view admits it.
 */
export function outage(
  net: Net,
  keys: number,
  written: number,
  kept: boolean,
  ownFirst = false,
): void {
  for (const node of net.nodes) for (let i = 0; i < keys; i++) node.write(rec(keyOf(i), 1, i + 1));
  const joiner = net.nodes[JOINER] as Node;
  for (let s = 1; s <= keys; s++) joiner.versionVector.add(0, s);
  joiner.down = true;
  const view1 = net.view;
  net.install(
    { epoch: 2, members: view1.members.filter((m) => m.id !== JOINER), shadows: [] },
    () => true,
  );
  for (const node of net.nodes) {
    if (node.down) continue;
    for (let i = 0; i < written; i++) node.write(rec(keyOf(i), 2, keys + 1 + i));
  }
  // the restart
  joiner.down = false;
  joiner.incarnation = 1;
  joiner.recovering = true;
  joiner.admitted = false;
  if (!kept) {
    joiner.records.clear();
    for (let i = 0; i < keys; i++)
      joiner.digest.update(keyOf(i), { version: 1, cid: 0 }, undefined);
    joiner.versionVector = new VersionVector();
  }
  if (ownFirst) {
    joiner.write(rec(keyOf(0), 2, keys + 1));
    joiner.versionVector.add(0, keys + 1);
  }
  joiner.joiner.started(joiner.ctx);
  const view2 = net.view;
  const view3: View = {
    epoch: 3,
    members: [...view1.members.map((m) => (m.id === JOINER ? { id: JOINER, incarnation: 1 } : m))],
    shadows: [JOINER],
  };
  joiner.admitted = true;
  net.view = view3;
  for (const node of net.nodes) {
    const ctx = node.ctx;
    node.buddy.viewInstalled(ctx, node.id === JOINER ? view1 : view2, node.id !== JOINER);
    node.joiner.viewInstalled(ctx);
  }
  joiner.joiner.admitted(joiner.ctx);
}

/**
 * outage() of 20 keys, 3 written meanwhile, the joiner's medium kept (its Buddy selects those 3
 * from its buffer): the joiner's heal-join, taken from the queue to be delivered by hand.
 */
export function joinAfterOutage(net: Net): Msg {
  outage(net, 20, 3, true);
  const joins = net.take('heal-join');
  assert.equal(joins.length, 1);
  return joins[0] as Msg;
}

export function assertSame(net: Net, keys: number): void {
  const joiner = net.nodes[JOINER] as Node;
  const buddy = net.nodes[BUDDY] as Node;
  assert.equal(joiner.records.size, keys);
  for (const [key, record] of buddy.records)
    assert.deepEqual(joiner.records.get(key)?.ts, record.ts, key);
  assert.equal(joiner.digest.root(), buddy.digest.root());
}

export const recovered = (net: Net) => () => !(net.nodes[JOINER] as Node).recovering;

/** The session of the last heal-join still queued (outage leaves the joiner's first one there). */
export function queuedJoinSession(net: Net): number {
  const join = net.queue.filter((q) => q.msg.kind === 'heal-join').at(-1);
  assert.ok(join, 'a heal-join is queued');
  return join.msg['session'] as number;
}

/** `body` as `from` sends it in the current view: a crafted message to hand to a node. */
export function sentBy(
  net: Net,
  from: ActorId,
  body: { kind: string; [field: string]: unknown },
): Msg {
  return { ...body, epoch: net.view.epoch, sender: from } as Msg;
}
