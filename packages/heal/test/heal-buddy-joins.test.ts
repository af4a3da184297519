import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SIM_TIMING, type View } from '@heal/kv/replica';
import { HEAL_EARLY_JOINS_MAX } from '../src/heal-buddy.js';
import {
  BUDDY,
  JOINER,
  joinAfterOutage,
  Net,
  rec,
  type Msg,
  type Node,
} from './heal-session-harness.js';

/**
 * The Buddy's side of a join (HealBuddy's viewInstalled and #onJoin): which digests it answers,
 * when, and which it drops. Each test runs outage() and hands the Buddy the joiner's heal-join (or
 * an altered copy) itself, then checks what the Buddy sent.
 */

// Mutants 15-20, 22, 23, 26, 29, 31-33, 35.
test('a join sent in a view the Buddy has not installed is answered once the Buddy installs that view', () => {
  const net = new Net(4);
  const join = joinAfterOutage(net);
  const buddy = net.nodes[BUDDY] as Node;
  const view3 = net.view;
  buddy.receive({ ...join, epoch: 5 });
  assert.deepEqual(net.queuedKinds(), [], 'not answered before its view');
  buddy.installBuddy({ ...view3, epoch: 4 });
  assert.deepEqual(net.queuedKinds(), [], 'nor in an older view, where it is kept');
  buddy.installBuddy({ ...view3, epoch: 5 });
  assert.equal(net.queued('heal-accept')[0]?.['session'], join['session']);
  assert.equal(buddy.buddy.stats.sessionsServed, 1);
});

// Mutants 30, 34.
test('the Buddy keeps at most HEAL_EARLY_JOINS_MAX early joins, one per joiner', () => {
  const fill = (net: Net, join: Msg, count: number): void => {
    for (let i = 0; i < count; i++)
      (net.nodes[BUDDY] as Node).receive({ ...join, epoch: 4, sender: 100 + i });
  };
  // full: the joiner's early join is not kept, and never answered
  const full = new Net(4);
  const join = joinAfterOutage(full);
  fill(full, join, HEAL_EARLY_JOINS_MAX);
  const buddy = full.nodes[BUDDY] as Node;
  buddy.receive({ ...join, epoch: 4 });
  buddy.installBuddy({ ...full.view, epoch: 4 });
  assert.deepEqual(full.queuedKinds(), []);
  assert.equal(buddy.buddy.stats.sessionsServed, 0);

  // one place left: the joiner's join is kept, and a newer one of the same joiner replaces it
  const room = new Net(4);
  const join2 = joinAfterOutage(room);
  fill(room, join2, HEAL_EARLY_JOINS_MAX - 1);
  const buddy2 = room.nodes[BUDDY] as Node;
  const session = join2['session'] as number;
  buddy2.receive({ ...join2, epoch: 4 });
  buddy2.receive({ ...join2, epoch: 4, session: session + 1 });
  buddy2.installBuddy({ ...room.view, epoch: 4 });
  assert.deepEqual(
    room.queued('heal-accept').map((m) => m['session']),
    [session + 1],
  );
});

// Mutant 14.
test('a replica the new view does not admit hands off nothing', () => {
  const net = new Net(4);
  const view1 = net.view;
  // nodes 1 and 3 leave; node 3 is still running and installs the view that removed it
  net.view = {
    epoch: 2,
    members: view1.members.filter((m) => m.id === 0 || m.id === 2),
    shadows: [],
  };
  const notAtDp = [rec('k0', 1, 1)];
  const handOff = (node: Node): void =>
    node.buddy.viewInstalled({ ...node.ctx, notDurable: () => notAtDp }, view1, true);
  const removed = net.nodes[3] as Node;
  removed.admitted = false;
  handOff(removed);
  assert.deepEqual(net.queuedKinds(), [], 'the removed replica sends no handoff');
  handOff(net.nodes[0] as Node);
  assert.deepEqual(
    net.queue.map((q) => [q.to, q.msg.kind]),
    [[BUDDY, 'heal-handoff']],
    "a member hands node 1's Buddy what was not at DP",
  );
});

// Mutants 37-42, 44, 46, 49.
test('the Buddy ignores a join it is not the one to answer', () => {
  const net = new Net(4);
  const join = joinAfterOutage(net);
  const buddy = net.nodes[BUDDY] as Node;
  const ignored = (what: string, node: Node, msg: Msg): void => {
    node.receive(msg);
    assert.deepEqual(net.queuedKinds(), [], what);
    assert.equal(node.buddy.stats.sessionsServed, 0, what);
  };
  buddy.admitted = false;
  ignored('a Buddy not admitted', buddy, join);
  buddy.admitted = true;
  buddy.recovering = true;
  ignored('a Buddy still recovering', buddy, join);
  buddy.recovering = false;
  ignored('a join of an older view', buddy, { ...join, epoch: 2 });
  ignored("a join of the joiner's earlier incarnation", buddy, { ...join, incarnation: 0 });
  ignored('a join sent to a replica that is not its Buddy', net.nodes[3] as Node, join);
  buddy.receive(join);
  assert.deepEqual(net.queuedKinds(), ['heal-batch', 'heal-end', 'heal-accept'], 'the join itself');
});

// Mutants 52, 55, 56, 58, 114.
test('a join resent in the same session gets the same accept again; the stream is not restarted', () => {
  const net = new Net(4);
  const join = joinAfterOutage(net);
  const buddy = net.nodes[BUDDY] as Node;
  const accept = {
    kind: 'heal-accept',
    session: join['session'],
    mode: 'buffer',
    selected: 3,
    epoch: 3,
    sender: BUDDY,
  };
  // A buffer session compares no roots: building this replica's root would rehash every bucket
  // written during the outage, on the join's path.
  const digest = buddy.buddy.digest;
  let roots = 0;
  const root = digest.root.bind(digest);
  digest.root = () => (roots++, root());
  buddy.receive(join);
  assert.deepEqual(net.queued('heal-accept'), [accept], 'the three keys written meanwhile');
  assert.equal(roots, 0, 'a buffer session builds no root');
  net.queue.length = 0;
  buddy.receive(join);
  assert.deepEqual(net.queue, [{ to: JOINER, msg: accept }]);
  const s = buddy.buddy.stats;
  assert.deepEqual([s.sessionsServed, s.digestsReplayed, s.entriesStreamed], [1, 0, 3]);
});

// Mutant 70.
test("a newer incarnation's join is served even if its session number is lower (the number wraps with the incarnation)", () => {
  const net = new Net(4);
  const join = joinAfterOutage(net);
  const buddy = net.nodes[BUDDY] as Node;
  buddy.receive(join);
  // the joiner failed again and restarted as incarnation 256: its sessions' top byte is 0
  const view4: View = {
    epoch: 4,
    members: net.view.members.map((m) => (m.id === JOINER ? { id: JOINER, incarnation: 256 } : m)),
    shadows: [JOINER],
  };
  buddy.installBuddy(view4);
  net.queue.length = 0;
  const session = ((JOINER << 16) | 1) >>> 0;
  assert.ok(session < (join['session'] as number));
  buddy.receive({ ...join, epoch: 4, incarnation: 256, session });
  assert.equal(net.queued('heal-accept')[0]?.['session'], session);
  assert.deepEqual([buddy.buddy.stats.sessionsServed, buddy.buddy.stats.digestsReplayed], [2, 0]);
});

// Mutants 80, 85, 88.
test('a digest without a MAC, or malformed, is rejected; any other error is a bug and thrown', () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  // the joiner has no key: it sends no MAC
  const keyed = new Net(4, [key, undefined, key, key]);
  const unsigned = joinAfterOutage(keyed);
  assert.equal(unsigned['mac'], '');
  (keyed.nodes[BUDDY] as Node).receive(unsigned);
  assert.match(
    keyed.queued('heal-reject')[0]?.['reason'] as string,
    /has no MAC but the cluster has a key/,
  );

  const net = new Net(4);
  const join = joinAfterOutage(net);
  const buddy = net.nodes[BUDDY] as Node;
  buddy.receive({ ...join, root: 'not a hash' });
  buddy.receive({
    ...join,
    vv: [
      { origin: 0, from: 5, to: 6 },
      { origin: 0, from: 1, to: 2 },
    ],
  });
  const rejects = net.queued('heal-reject');
  assert.deepEqual(
    rejects.map((m) => m['session']),
    [join['session'], join['session']],
  );
  assert.match(rejects[0]?.['reason'] as string, /^root must be/);
  assert.match(rejects[1]?.['reason'] as string, /must come after interval 0/);
  assert.equal(buddy.buddy.stats.digestsRejected, 2);
  assert.throws(() => buddy.receive({ ...join, vv: null }), TypeError);
  assert.equal(buddy.buddy.stats.digestsRejected, 2);
});

// Mutants 5, 7-10.
test('a newer view ends the sessions the Buddy serves: nothing of them is resent', () => {
  const net = new Net(4);
  const join = joinAfterOutage(net);
  const buddy = net.nodes[BUDDY] as Node;
  buddy.receive(join);
  net.queue.length = 0;
  // the joiner is still a member, of the same incarnation
  buddy.installBuddy({ ...net.view, epoch: 4 });
  net.nowMs += SIM_TIMING.retransmitMs + 1;
  buddy.buddy.tick(buddy.ctx);
  assert.deepEqual(net.queuedKinds(), []);
});
