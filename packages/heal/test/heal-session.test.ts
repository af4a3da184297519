import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SIM_TIMING } from '@heal/kv/replica';
import { HEAL_PARALLEL_MIN_KEYS } from '../src/heal-buddy.js';
import { HEAL_JOIN_STALL_RETRANSMITS } from '../src/heal-joiner.js';
import {
  assertSame,
  BUDDY,
  JOINER,
  Net,
  outage,
  recovered,
  type Msg,
  type Node,
} from './heal-session-harness.js';

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
