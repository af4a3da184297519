import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SIM_TIMING, type View } from '@heal/kv/replica';
import {
  BUDDY,
  JOINER,
  keyOf,
  Net,
  outage,
  queuedJoinSession,
  rec,
  sentBy,
  type Node,
} from './heal-session-harness.js';

/**
 * The joiner takes a message only from the join it runs: its session, from its Buddy (or, for a
 * stream, from a member helping it), while it recovers. Anything else changes nothing.
 */

/** Node 1 restarted and joined node 2 (its Buddy); the heal-join is taken off the network. */
function joining(): { net: Net; joiner: Node; session: number } {
  const net = new Net(4);
  outage(net, 8, 2, true);
  const session = queuedJoinSession(net);
  net.queue.length = 0;
  return { net, joiner: net.nodes[JOINER] as Node, session };
}

const entry = (key: string, version: number) => {
  const r = rec(key, version, 100 + version);
  return { ...r, ...r.ts };
};

// Mutants: heal-joiner.ts #135 #144 #147 #152 #154 #188 #194 #200 #303.
test('messages of another session, from a member other than the Buddy, or a premature heal-done-ok change nothing', () => {
  const { net, joiner, session } = joining();
  const other = 0;
  const ignored = [
    sentBy(net, BUDDY, { kind: 'heal-reject', session: session + 1, reason: 'stale' }),
    sentBy(net, other, { kind: 'heal-reject', session, reason: 'not the Buddy' }),
    sentBy(net, other, { kind: 'heal-accept', session, mode: 'buffer', selected: 0 }),
    sentBy(net, BUDDY, {
      kind: 'heal-nodes-request',
      session: session + 1,
      level: 0,
      indices: [0],
    }),
    sentBy(net, other, { kind: 'heal-nodes-request', session, level: 0, indices: [0] }),
    sentBy(net, BUDDY, {
      kind: 'heal-keys-request',
      session: session + 1,
      attempt: 1,
      buckets: [0],
    }),
    sentBy(net, other, { kind: 'heal-keys-request', session, attempt: 1, buckets: [0] }),
    // a stream message from a replica the view does not hold
    sentBy(net, 7, { kind: 'heal-batch', session, batch: 0, entries: [entry(keyOf(0), 5)] }),
    sentBy(net, 7, {
      kind: 'heal-end',
      session,
      mode: 'buffer',
      batches: 0,
      sources: 1,
      vvSkipped: 0,
    }),
    // confirms a heal-done the joiner has not sent
    sentBy(net, BUDDY, { kind: 'heal-done-ok', session }),
  ];
  for (const msg of ignored) joiner.receive(msg);
  assert.deepEqual(net.queue, [], 'nothing answered');
  assert.deepEqual(joiner.log, [], 'nothing persisted or finished');
  assert.equal(joiner.recovering, true);
  assert.equal(joiner.joiner.joining, true);
  assert.deepEqual(joiner.joiner.stats, {
    healSessions: 1,
    healEntriesApplied: 0,
    joinsRejected: 0,
    joinsResent: 0,
    donesResent: 0,
    joinStalls: 0,
  });
  // the accept from a non-Buddy did not count as the Buddy's: the join is still resent
  net.nowMs += SIM_TIMING.retransmitMs;
  joiner.joiner.tick(joiner.ctx);
  assert.equal(joiner.joiner.stats.joinsResent, 1);

  // the same from the Buddy in the session is taken
  joiner.receive(sentBy(net, BUDDY, { kind: 'heal-reject', session, reason: 'bad MAC' }));
  assert.equal(joiner.joiner.stats.joinsRejected, 1);
});

test('a helper (a member other than the Buddy) may stream to the joiner', () => {
  const { net, joiner, session } = joining();
  joiner.receive(
    sentBy(net, 0, { kind: 'heal-batch', session, batch: 0, entries: [entry(keyOf(0), 5)] }),
  );
  assert.equal(joiner.joiner.stats.healEntriesApplied, 1);
  assert.deepEqual(
    net.queue.map((q) => [q.to, q.msg.kind]),
    [[0, 'heal-batch-ack']],
  );
});

// Mutant: heal-joiner.ts #141.
test('a recovering replica not joining yet, or a join no longer recovering, ignores its messages', () => {
  const net = new Net(4);
  const node = net.nodes[JOINER] as Node;
  node.incarnation = 1;
  node.recovering = true;
  node.joiner.started(node.ctx);
  node.receive(sentBy(net, BUDDY, { kind: 'heal-reject', session: 1, reason: 'early' }));
  assert.equal(node.joiner.stats.joinsRejected, 0);

  const { joiner, session, net: net2 } = joining();
  joiner.recovering = false; // removed from the view mid-recovery: it joins the cluster anew
  joiner.joiner.receive(
    joiner.ctx,
    sentBy(net2, BUDDY, { kind: 'heal-reject', session, reason: 'late' }),
  );
  assert.equal(joiner.joiner.stats.joinsRejected, 0);
});

// Mutant: heal-joiner.ts #177.
test('receive says whether the message is one the joiner handles', () => {
  const { net, joiner, session } = joining();
  const handled = (msg: { kind: string; [field: string]: unknown }) =>
    joiner.joiner.receive(joiner.ctx, sentBy(net, BUDDY, msg));
  assert.equal(handled({ kind: 'heal-done', session }), false);
  assert.equal(handled({ kind: 'heal-join', session }), false);
  assert.equal(handled({ kind: 'heal-reject', session, reason: 'x' }), true);
});

// Mutants: heal-joiner.ts #109 #111.
test('a replica joins its Buddy only once admitted as a ShadowReplica', () => {
  const { joiner } = joining();
  joiner.recovering = false;
  assert.throws(() => joiner.joiner.admitted(joiner.ctx), /admitted as a ShadowReplica/);
  joiner.recovering = true;
  joiner.admitted = false;
  assert.throws(() => joiner.joiner.admitted(joiner.ctx), /admitted as a ShadowReplica/);
  assert.equal(joiner.joiner.stats.healSessions, 1);
});

// Mutants: heal-joiner.ts #122 #124.
test('a view with no full member to be its Buddy starts no join', () => {
  const net = new Net(2);
  const node = net.nodes[JOINER] as Node;
  node.incarnation = 1;
  node.recovering = true;
  node.joiner.started(node.ctx);
  net.view = {
    epoch: 2,
    members: [
      { id: 0, incarnation: 0 },
      { id: JOINER, incarnation: 1 },
    ],
    shadows: [0, JOINER],
  };
  node.joiner.admitted(node.ctx);
  assert.equal(node.joiner.joining, false);
  assert.equal(node.joiner.stats.healSessions, 0);
  assert.deepEqual(net.queue, []);
});

// Mutants: heal-joiner.ts #114 #117 #119.
test('a newer view restarts a join in progress with a new session, and ends one no longer recovering', () => {
  const { net, joiner, session } = joining();
  const newer = (v: View): View => ({ ...v, epoch: v.epoch + 1 });
  net.install(newer(net.view), () => true);
  assert.equal(joiner.joiner.stats.healSessions, 2);
  const restarted = queuedJoinSession(net);
  assert.notEqual(restarted, session);
  assert.equal(net.queue.find((q) => q.msg.kind === 'heal-join')?.to, BUDDY);
  net.queue.length = 0;

  // removed from the view mid-recovery: it joins the cluster anew, then recovers again
  joiner.recovering = false;
  net.install(newer(net.view), () => true);
  assert.equal(joiner.joiner.joining, false);
  assert.equal(joiner.joiner.stats.healSessions, 2);
  assert.equal(
    net.queue.some((q) => q.msg.kind === 'heal-join'),
    false,
  );
});

// Mutants: heal-joiner.ts #104 #106.
test('only a restarted replica (incarnation above 0) meters a recovery', () => {
  const net = new Net(4);
  const first = net.nodes[0] as Node;
  first.joiner.started(first.ctx);
  assert.equal(first.meter.active, false);
  const restarted = net.nodes[JOINER] as Node;
  restarted.incarnation = 1;
  restarted.joiner.started(restarted.ctx);
  assert.equal(restarted.meter.active, true);
});
