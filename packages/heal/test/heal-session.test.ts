import { test } from 'node:test';
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
import { HEAL_PARALLEL_MIN_KEYS, HealBuddy } from '../src/heal-buddy.js';
import { healFaults } from '../src/heal-faults.js';
import { HEAL_JOIN_STALL_RETRANSMITS, HealJoiner } from '../src/heal-joiner.js';
import { HEAL_MESSAGES } from '../src/heal-messages.js';

/**
 * One HEAL recovery between the Buddy's and the joiner's state machines (ARCHITECTURE.md §6),
 * without the replicas around them: four nodes hold records, digests and a HealBuddy and
 * HealJoiner each, and a network delivers their messages in order (or drops or repeats the ones
 * a test names). The replicas' side (applying a record, the version vector, persistRecovered,
 * finishRecovery) is a few lines here, so each step of the exchange can be checked exactly.
 */

type Msg = StrategyMessage & { [field: string]: unknown };

class Node {
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

  receive(msg: Msg): void {
    if (this.recovering && this.joiner.joining) this.meter.received(msg);
    const ctx = this.ctx;
    if (!this.joiner.receive(ctx, msg))
      assert.ok(this.buddy.receive(ctx, msg), `${msg.kind} is handled`);
  }
}

class Net {
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

const rec = (key: string, version: number, seq: number): KeyRecord => ({
  key,
  ts: { version, cid: 0 },
  value: `${key}=${version}`,
  state: 'valid',
  origin: 0,
  seq,
});
const keyOf = (i: number): string => `k${i}`;
const JOINER = 1;
const BUDDY = 2;

/**
 * Four nodes hold `keys` keys; node 1 fails (the view drops it; node 2 is its Buddy); the others
 * take a second write of the first `written` keys; node 1 restarts (keeping its records or not,
 * `kept`; its medium's version vector covering writes 1..keys, and with `ownFirst` the first
 * write of the outage too, which it then holds), and the next view admits it.
 */
function outage(net: Net, keys: number, written: number, kept: boolean, ownFirst = false): void {
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

function assertSame(net: Net, keys: number): void {
  const joiner = net.nodes[JOINER] as Node;
  const buddy = net.nodes[BUDDY] as Node;
  assert.equal(joiner.records.size, keys);
  for (const [key, record] of buddy.records)
    assert.deepEqual(joiner.records.get(key)?.ts, record.ts, key);
  assert.equal(joiner.digest.root(), buddy.digest.root());
}

const recovered = (net: Net) => () => !(net.nodes[JOINER] as Node).recovering;

test("buffer mode: the Buddy streams the buffered keys the joiner's vector does not cover; the joiner persists, then confirms, then serves", () => {
  const net = new Net(4);
  outage(net, 40, 6, true, true);
  const joiner = net.nodes[JOINER] as Node;
  const buddy = net.nodes[BUDDY] as Node;
  assert.equal(buddy.buddy.handoffs.buffer(JOINER)?.covers, true);
  assert.equal(joiner.joiner.joining, true);
  net.run(recovered(net));
  assertSame(net, 40);
  assert.deepEqual(
    joiner.log,
    ['persist', 'heal-done', 'finish'],
    'what was streamed is durable before the Buddy drops its buffer',
  );
  assert.equal(joiner.joiner.joining, false);
  assert.equal(buddy.buddy.handoffs.buffer(JOINER), undefined, 'the buffer is dropped');
  const s = buddy.buddy.stats;
  assert.deepEqual(
    [
      s.sessionsServed,
      s.sessionsBuffer,
      s.sessionsDescent,
      s.selectedKeys,
      s.vvSkipped,
      s.entriesStreamed,
      s.buffers,
      s.descentRounds,
    ],
    [1, 1, 0, 5, 1, 5, 1, 0],
  );
  assert.deepEqual(joiner.joiner.stats, {
    healSessions: 1,
    healEntriesApplied: 5,
    joinsRejected: 0,
    joinsResent: 0,
    donesResent: 0,
    joinStalls: 0,
  });
  const report = joiner.meter.report();
  assert.ok(report);
  assert.deepEqual(report.counts, { vvSkipped: 1, bufferSessions: 1 });
  assert.deepEqual([report.entriesReceived, report.entriesApplied], [5, 5]);
  assert.deepEqual(Object.keys(report.phasesMs), [
    'load',
    'join',
    'startToAck',
    'exchange',
    'replay',
    'finalize',
  ]);
  assert.ok(report.bytesMoved > 0);
  for (const other of [0, 3])
    assert.equal((net.nodes[other] as Node).buddy.stats.sessionsServed, 0, 'only the Buddy serves');
});

test("the join's session number holds the incarnation, the replica and a counter", () => {
  const net = new Net(4);
  outage(net, 4, 1, true);
  const sessions: number[] = [];
  net.drop = (msg) => {
    if (msg.kind === 'heal-join') sessions.push(msg['session'] as number);
    return false;
  };
  const joiner = net.nodes[JOINER] as Node;
  joiner.incarnation = 300;
  joiner.joiner.admitted(joiner.ctx);
  assert.deepEqual(sessions, [(((300 & 0xff) << 24) | (JOINER << 16) | 2) >>> 0]);
  joiner.incarnation = 200;
  joiner.joiner.admitted(joiner.ctx);
  assert.deepEqual(sessions.slice(1), [200 * 2 ** 24 + JOINER * 2 ** 16 + 3], 'unsigned');
});

test('descent mode: a joiner whose medium kept nothing gets every key by Merkle descent', () => {
  const net = new Net(4);
  outage(net, 60, 6, false);
  net.run(recovered(net));
  assertSame(net, 60);
  const joiner = net.nodes[JOINER] as Node;
  const s = (net.nodes[BUDDY] as Node).buddy.stats;
  assert.deepEqual(
    [s.sessionsDescent, s.sessionsBuffer, s.selectedKeys, s.entriesStreamed, s.vvSkipped],
    [1, 0, 60, 60, 0],
  );
  assert.ok(s.descentRounds >= 1, `descent rounds ${s.descentRounds}`);
  assert.deepEqual(joiner.meter.report()?.counts, { descentSessions: 1 });
  assert.deepEqual(joiner.log, ['persist', 'heal-done', 'finish']);
  assert.equal((net.nodes[BUDDY] as Node).buddy.handoffs.buffer(JOINER), undefined);
});

test('descent mode with a buffer that does not cover (the joiner kept records, the Buddy took over): only the differing keys', () => {
  const net = new Net(4);
  outage(net, 60, 6, true);
  // another Buddy's buffer would not be complete: simulate by dropping it
  (net.nodes[BUDDY] as Node).buddy.handoffs.drop(JOINER);
  net.run(recovered(net));
  assertSame(net, 60);
  const s = (net.nodes[BUDDY] as Node).buddy.stats;
  assert.deepEqual([s.sessionsDescent, s.selectedKeys], [1, 6]);
  assert.equal((net.nodes[JOINER] as Node).joiner.stats.healEntriesApplied, 6);
});

test('a large descent selection is streamed by the Buddy and two helpers, a slice each', () => {
  const keys = HEAL_PARALLEL_MIN_KEYS + 200;
  const net = new Net(4);
  outage(net, keys, 0, false);
  net.run(recovered(net));
  assertSame(net, keys);
  const slice = Math.ceil(keys / 3);
  const streamed = [0, 2, 3].map((id) => (net.nodes[id] as Node).buddy.stats.entriesStreamed);
  assert.deepEqual(streamed, [slice, slice, keys - 2 * slice]);
  assert.deepEqual(
    [0, 3].map((id) => (net.nodes[id] as Node).buddy.stats.sessionsAssisted),
    [1, 1],
  );
  assert.deepEqual((net.nodes[JOINER] as Node).meter.report()?.counts, {
    descentSessions: 1,
    parallelSources: 3,
  });
  // a selection just under the bound: the Buddy alone
  const small = new Net(4);
  outage(small, HEAL_PARALLEL_MIN_KEYS - 1, 0, false);
  small.run(recovered(small));
  assert.deepEqual(
    [0, 2, 3].map((id) => (small.nodes[id] as Node).buddy.stats.entriesStreamed),
    [0, HEAL_PARALLEL_MIN_KEYS - 1, 0],
  );
});

test('lost messages: each side resends what it waits on, and the recovery completes the same', () => {
  for (const kept of [true, false]) {
    const net = new Net(4);
    outage(net, kept ? 40 : HEAL_PARALLEL_MIN_KEYS + 10, 6, kept);
    // the first of each kind is lost (the first two heal-done-ok: a resent heal-done is confirmed again)
    net.drop = (msg, _to, n) => n === 1 || (msg.kind === 'heal-done-ok' && n === 2);
    net.run(recovered(net));
    assertSame(net, kept ? 40 : HEAL_PARALLEL_MIN_KEYS + 10);
    const joiner = (net.nodes[JOINER] as Node).joiner.stats;
    const buddy = (net.nodes[BUDDY] as Node).buddy.stats;
    assert.ok(joiner.joinsResent >= 1, 'the join is resent');
    assert.ok(joiner.donesResent >= 2, 'heal-done is resent until confirmed');
    assert.ok(buddy.doneOksResent >= 1, 'the Buddy confirms a resent heal-done again');
    if (!kept) {
      assert.ok(buddy.keysRequestsResent >= 1, 'the keys request is resent');
      assert.ok(buddy.assistsResent >= 1, 'a lost assist is resent');
    }
    assert.equal(joiner.joinStalls, 0);
    assert.equal(
      buddy.sessionsServed,
      1,
      'one session: a lost message never restarts the recovery',
    );
    const log = (net.nodes[JOINER] as Node).log;
    assert.deepEqual(
      [log[0], log.at(-1), new Set(log.slice(1, -1))],
      ['persist', 'finish', new Set(['heal-done'])],
    );
  }
});

test('every message delivered twice: the same recovery, each entry applied once', () => {
  const net = new Net(4);
  outage(net, HEAL_PARALLEL_MIN_KEYS + 10, 6, false);
  net.duplicate = true;
  net.run(recovered(net));
  assertSame(net, HEAL_PARALLEL_MIN_KEYS + 10);
  assert.equal(
    (net.nodes[JOINER] as Node).joiner.stats.healEntriesApplied,
    HEAL_PARALLEL_MIN_KEYS + 10,
  );
  assert.equal((net.nodes[BUDDY] as Node).buddy.stats.sessionsServed, 1);
  assert.equal((net.nodes[BUDDY] as Node).buddy.stats.digestsReplayed, 0);
});

test('a join that hears nothing starts over with a new session after HEAL_JOIN_STALL_RETRANSMITS retransmit periods', () => {
  const net = new Net(4);
  outage(net, 20, 3, true);
  const buddy = net.nodes[BUDDY] as Node;
  buddy.down = true;
  const stallMs = HEAL_JOIN_STALL_RETRANSMITS * SIM_TIMING.retransmitMs;
  for (let t = 0; t < stallMs; t++) {
    net.deliverAll();
    net.tick();
  }
  const joiner = net.nodes[JOINER] as Node;
  assert.equal(joiner.joiner.stats.joinStalls, 0, 'not before the stall bound');
  net.tick();
  assert.equal(joiner.joiner.stats.joinStalls, 1);
  assert.equal(joiner.joiner.stats.healSessions, 2);
  assert.ok(joiner.joiner.stats.joinsResent >= 1);
  buddy.down = false;
  net.queue.length = 0;
  net.run(recovered(net));
  assertSame(net, 20);
});

test('a digest signed with another key is refused and never trusted; a replayed older digest is ignored', () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  const other = Uint8Array.from({ length: 16 }, (_, i) => 100 + i);
  const net = new Net(4, [key, other, key, key]);
  outage(net, 20, 3, true);
  const rejects: string[] = [];
  net.drop = (msg) => {
    if (msg.kind === 'heal-reject') rejects.push(msg['reason'] as string);
    return false;
  };
  for (let t = 0; t < 30; t++) {
    net.deliverAll();
    net.tick();
  }
  const joiner = net.nodes[JOINER] as Node;
  assert.equal(joiner.recovering, true);
  assert.ok(joiner.joiner.stats.joinsRejected >= 1);
  assert.equal((net.nodes[BUDDY] as Node).buddy.stats.digestsRejected, rejects.length);
  assert.match(rejects[0] ?? '', /failed MAC verification/);

  // honest keys; an old digest replayed after a newer one was taken is ignored
  const honest = new Net(4, [key, key, key, key]);
  outage(honest, 20, 3, true);
  const joins: Msg[] = [];
  honest.drop = (msg) => {
    if (msg.kind === 'heal-join') joins.push(msg);
    return false;
  };
  const j = honest.nodes[JOINER] as Node;
  j.joiner.admitted(j.ctx); // a second session (the first join is still queued)
  honest.run(recovered(honest));
  assertSame(honest, 20);
  const buddy = (honest.nodes[BUDDY] as Node).buddy;
  (honest.nodes[BUDDY] as Node).receive(joins[0] as Msg);
  assert.equal(buddy.stats.digestsReplayed, 1);
  assert.equal(
    buddy.stats.sessionsServed,
    2,
    'the first session, then the newer one that replaced it; not the replay',
  );
  assert.equal(j.joiner.stats.healSessions, 2);
});
