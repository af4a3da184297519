import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors';
import type {
  AcceptMsg,
  AcceptedMsg,
  NackMsg,
  PrepareMsg,
  PromiseMsg,
} from '../src/protocol/messages.js';
import { SIM_TIMING } from '../src/protocol/timing.js';
import type { View } from '../src/protocol/view.js';
import { ViewPaxos, type PaxosHost, type ViewValue } from '../src/protocol/view-paxos.js';

/**
 * ViewPaxos between three acceptors on a network the test drives by hand: each message is
 * delivered, or dropped, when the test says so.
 */
type Wire = { kind: string; epoch: number; sender: ActorId; [field: string]: unknown };

class Node {
  readonly paxos: ViewPaxos;
  view: View;
  constructor(
    readonly id: ActorId,
    readonly net: Net,
    view: View,
  ) {
    this.view = view;
    this.paxos = new ViewPaxos({
      self: id,
      timing: SIM_TIMING,
      now: () => net.nowMs,
      random: () => 0.5,
      view: () => this.view,
      admitted: () => true,
      send: (to, body) =>
        net.queue.push({ to, msg: { ...body, epoch: this.view.epoch, sender: id } as Wire }),
      sendView: () => {},
      voteAllowedAtMs: () => -Infinity,
      decided: (v) => {
        this.view = v;
        this.paxos.reset();
        net.decided.push({ by: id, view: v });
      },
      learned: (v) => {
        this.view = v;
        this.paxos.reset();
        net.learned.push({ by: id, view: v });
      },
    });
  }

  receive(msg: Wire): void {
    switch (msg.kind) {
      case 'prepare':
        return this.paxos.onPrepare(msg as unknown as PrepareMsg);
      case 'promise':
        return this.paxos.onPromise(msg as unknown as PromiseMsg);
      case 'accept':
        return this.paxos.onAccept(msg as unknown as AcceptMsg);
      case 'accepted':
        return this.paxos.onAccepted(msg as unknown as AcceptedMsg);
      case 'nack':
        return this.paxos.onNack(msg as unknown as NackMsg);
    }
  }
}

class Net {
  nowMs = 0;
  readonly queue: { to: ActorId; msg: Wire }[] = [];
  readonly decided: { by: ActorId; view: View }[] = [];
  readonly learned: { by: ActorId; view: View }[] = [];
  nodes: Node[] = [];
  /** Delivers queued messages (and those they cause) that `pass` lets through; drops the rest. */
  run(pass: (to: ActorId, msg: Wire) => boolean = () => true): void {
    while (this.queue.length > 0) {
      const { to, msg } = this.queue.shift() as { to: ActorId; msg: Wire };
      if (pass(to, msg)) this.nodes[to]?.receive(msg);
    }
  }
}

const members = (ids: ActorId[]) => ids.map((id) => ({ id, incarnation: 0 }));

test('a vote whose proposer gave up is finished by the voter: the epoch is decided and leases may be granted again', () => {
  const net = new Net();
  const view: View = { epoch: 1, members: members([0, 1, 2]), shadows: [] };
  net.nodes = [0, 1, 2].map((id) => new Node(id, net, view));
  const [n0, n1] = net.nodes as [Node, Node, Node];
  // 0 proposes a view without 2; 0 and 1 accept it, but 1's answer is lost and 0 then proposes
  // nothing more (2 turned out alive: the view it wanted is no longer wanted).
  const without2: ViewValue = { members: members([0, 1]), shadows: [] };
  n0.paxos.propose(without2);
  // Every vote is lost too: 1 cannot learn the outcome from 0's vote and its own.
  net.run((to, msg) => !(msg.kind === 'accept' && to === 2) && msg.kind !== 'accepted');
  assert.equal(n1.paxos.voting, true, '1 voted for epoch 2');
  n0.paxos.propose(undefined);
  net.nowMs += SIM_TIMING.proposalTimeoutMs - 1;
  n1.paxos.tick();
  net.run();
  assert.equal(
    net.decided.length,
    0,
    'within the proposal timeout the voter waits for its proposer',
  );
  net.nowMs += 1;
  n1.paxos.tick();
  net.run();
  assert.ok(net.decided.length > 0, 'the voter completes the epoch');
  for (const { view: v } of net.decided)
    assert.deepEqual([v.epoch, v.members], [2, without2.members], 'the value voted for');
  assert.equal(n1.paxos.voting, false);
});

test('a proposal that would drop members who promised keeps them: a promise is a sign of life', () => {
  const net = new Net();
  const view: View = { epoch: 3, members: members([0, 1, 2, 3, 4]), shadows: [3] };
  net.nodes = [0, 1, 2, 3, 4].map((id) => new Node(id, net, view));
  // 3, a shadow cut off for a while, suspects 0, 1 and 2 and proposes a view of 3 and 4 alone;
  // the cut heals; 0 and 1 promise (with 3 itself, a majority), 2's promise is lost.
  (net.nodes[3] as Node).paxos.propose({ members: members([3, 4]), shadows: [3] });
  net.run((_to, msg) => !(msg.kind === 'promise' && msg.sender === 2));
  assert.ok(net.decided.length > 0);
  for (const { view: v } of net.decided) {
    assert.deepEqual(
      [v.epoch, v.members, v.shadows],
      [4, members([0, 1, 3, 4]), [3]],
      'the members that promised stay',
    );
  }
});

test('a value an acceptor voted for is adopted as it is, even if it drops a promiser', () => {
  const net = new Net();
  const view: View = { epoch: 1, members: members([0, 1, 2]), shadows: [] };
  net.nodes = [0, 1, 2].map((id) => new Node(id, net, view));
  const without2: ViewValue = { members: members([0, 1]), shadows: [] };
  // 1 proposes without 2 and only 0 votes; then 2 proposes the same epoch: 0's vote may be part
  // of a chosen value, so 2 must propose it (Paxos), though 2 promised itself.
  (net.nodes[1] as Node).paxos.propose(without2);
  net.run((to, msg) => !(msg.kind === 'accept' && to !== 0) && !(msg.kind === 'accepted'));
  (net.nodes[2] as Node).paxos.propose({ members: [...view.members], shadows: [] });
  net.run();
  assert.ok(net.decided.length > 0);
  for (const { view: v } of net.decided) assert.deepEqual(v.members, without2.members);
});

test('a prepare delivered again after its accept is promised again, and the proposal decides', () => {
  const net = new Net();
  const view: View = { epoch: 1, members: members([0, 1, 2, 3, 4]), shadows: [] };
  net.nodes = [0, 1, 2, 3, 4].map((id) => new Node(id, net, view));
  let prepareTo1: Wire | undefined;
  // 2 proposes (0 is the lowest id, whose first proposal skips phase 1)
  (net.nodes[2] as Node).paxos.propose({ members: members([0, 1, 2, 3]), shadows: [] });
  net.run((to, msg) => {
    if (to === 1 && msg.kind === 'prepare') prepareTo1 = msg;
    // The network repeats the prepare to 1 after the accept: a nack here would end the proposal.
    if (to === 1 && msg.kind === 'accept' && prepareTo1)
      net.queue.unshift({ to: 1, msg: prepareTo1 });
    return true;
  });
  assert.ok(prepareTo1, 'the prepare was repeated');
  assert.equal(net.decided.length, 1);
  assert.deepEqual((net.decided[0] as { view: View }).view.members, members([0, 1, 2, 3]));
});

test('a one-member view decides the next change inside its own install (a joiner was waiting)', () => {
  const alone = [{ id: 0, incarnation: 1 }];
  let view: View = { epoch: 1, members: [...alone, { id: 2, incarnation: 1 }], shadows: [] };
  const installed: number[] = [];
  const host: PaxosHost = {
    self: 0,
    timing: SIM_TIMING,
    now: () => 0,
    random: () => 0.5,
    view: () => view,
    admitted: () => true,
    send: (to, body) => {
      // Replica 2 promises and accepts at once; it voted for a view without itself before (a
      // value voted for is adopted as it is, though it drops a promiser), so 0 is left alone.
      const reply = { epoch: view.epoch, sender: to, target: 2, round: 1, proposer: 0 };
      if (body.kind === 'prepare') {
        paxos.onPromise({
          ...reply,
          kind: 'promise',
          hasAccepted: true,
          acceptedRound: 1,
          acceptedProposer: 0,
          members: alone,
          shadows: [],
        });
      } else if (body.kind === 'accept') {
        const { members: value, shadows } = body;
        paxos.onAccepted({ ...reply, kind: 'accepted', members: value, shadows, quorum: 2 });
      }
    },
    sendView: () => {},
    voteAllowedAtMs: () => 0,
    learned: () => assert.fail('replica 0 is a member: it learns nothing'),
    decided: (v) => {
      // As Membership installs: reset, then the change that waited (replica 1 rejoins) goes on.
      view = v;
      installed.push(v.epoch);
      paxos.reset();
      if (v.epoch === 2)
        paxos.propose({ members: [...alone, { id: 1, incarnation: 2 }], shadows: [] });
    },
  };
  const paxos = new ViewPaxos(host);
  paxos.propose({ members: alone, shadows: [] });
  assert.deepEqual(
    installed,
    [2, 3],
    'epoch 2 (replica 0 alone), then epoch 3 decided by replica 0 alone, within it',
  );
  assert.deepEqual(
    view.members.map((m) => m.id),
    [0, 1],
  );
});

/** Every message kind the network carried, in order. */
function kindsOf(net: Net): string[] {
  const kinds: string[] = [];
  net.run((_to, msg) => {
    kinds.push(msg.kind);
    return true;
  });
  return kinds;
}

test("the view's lowest-id member decides a change in one round trip: accept, accepted, no prepare", () => {
  const net = new Net();
  const view: View = { epoch: 1, members: members([0, 1, 2]), shadows: [] };
  net.nodes = [0, 1, 2].map((id) => new Node(id, net, view));
  const n0 = net.nodes[0] as Node;
  n0.paxos.propose({ members: members([0, 1]), shadows: [] });
  // 0's own vote goes to 1 (a member of the value, so a learner) before its accepts; 1's vote
  // goes to 0, 2's to 0 and 1. No prepare, no promise.
  assert.deepEqual(kindsOf(net), [
    'accepted',
    'accept',
    'accept',
    'accepted',
    'accepted',
    'accepted',
  ]);
  assert.deepEqual(
    net.decided.map(({ by, view: v }) => [by, v.epoch, v.members]),
    [[0, 2, members([0, 1])]],
  );
  assert.deepEqual(
    net.learned.map(({ by, view: v }) => [by, v.epoch, v.members]),
    [[1, 2, members([0, 1])]],
    '1 learned it from the votes, not from a view message',
  );
  // An acceptor counts its own vote: 1 learns from 0's and its own, 2's lost.
  const own = new Net();
  own.nodes = [0, 1, 2].map((id) => new Node(id, own, view));
  (own.nodes[0] as Node).paxos.propose({ members: members([0, 1]), shadows: [] });
  own.run((to, msg) => !(msg.kind === 'accepted' && msg.sender === 2 && to === 1));
  assert.deepEqual(
    own.learned.map(({ by, view: v }) => [by, v.epoch]),
    [[1, 2]],
  );
  assert.deepEqual(n0.paxos.stats, {
    proposals: 1,
    fastProposals: 1,
    learned: 0,
    votesRefused: 0,
  });
  // any other member's proposal runs both phases
  const other = new Net();
  other.nodes = [0, 1, 2].map((id) => new Node(id, other, view));
  (other.nodes[1] as Node).paxos.propose({ members: members([0, 1]), shadows: [] });
  assert.equal(kindsOf(other)[0], 'prepare');
  assert.equal(other.decided.length, 1);
});

test('a value that keeps less than a majority of the view goes through both phases, and keeps who promised', () => {
  const net = new Net();
  const view: View = { epoch: 1, members: members([0, 1, 2, 3, 4]), shadows: [] };
  net.nodes = [0, 1, 2, 3, 4].map((id) => new Node(id, net, view));
  // 0 was cut off: it suspects everyone else
  (net.nodes[0] as Node).paxos.propose({ members: members([0]), shadows: [] });
  assert.equal(kindsOf(net)[0], 'prepare');
  assert.equal(net.decided.length, 1);
  assert.ok((net.decided[0] as { view: View }).view.members.length >= 3, 'promisers kept');
});

test('a fast proposal nacked under a higher ballot backs off; the other proposal decides', () => {
  const net = new Net();
  const view: View = { epoch: 1, members: members([0, 1, 2]), shadows: [] };
  net.nodes = [0, 1, 2].map((id) => new Node(id, net, view));
  const [n0, n1] = net.nodes as [Node, Node, Node];
  const without2: ViewValue = { members: members([0, 1]), shadows: [] };
  const without0: ViewValue = { members: members([1, 2]), shadows: [] };
  // 1 prepares first (its prepare to 0 is lost); 0's fast accept then meets 1's promise at 1 and 2
  n1.paxos.propose(without0);
  const promises: Wire[] = [];
  net.run((to, msg) => {
    if (msg.kind === 'promise') promises.push(msg);
    return !(msg.kind === 'prepare' && to === 0) && msg.kind !== 'promise';
  });
  n0.paxos.propose(without2);
  const kinds: string[] = [];
  net.run((_to, msg) => {
    kinds.push(msg.kind);
    return true;
  });
  // 0 votes for its own value (and tells 1, a member of it), then 1 and 2 refuse.
  assert.deepEqual(kinds, ['accepted', 'accept', 'accept', 'nack', 'nack']);
  assert.equal(n0.paxos.mayPropose(), false, 'it backs off');
  for (const msg of promises) net.queue.push({ to: 1, msg });
  net.run();
  assert.ok(net.decided.length > 0);
  for (const { view: v } of net.decided) assert.deepEqual(v.members, without0.members);
});

test('a value accepted under the fast round by one acceptor is adopted by a later proposer (phase 1)', () => {
  const net = new Net();
  const view: View = { epoch: 1, members: members([0, 1, 2, 3, 4]), shadows: [] };
  net.nodes = [0, 1, 2, 3, 4].map((id) => new Node(id, net, view));
  const fastValue: ViewValue = { members: members([0, 1, 2, 3]), shadows: [] };
  // 0's accepts are all lost: only 0 itself voted for its value
  (net.nodes[0] as Node).paxos.propose(fastValue);
  net.run(() => false);
  (net.nodes[1] as Node).paxos.propose({ members: members([1, 2, 3, 4]), shadows: [] });
  net.run((to, msg) => !(msg.kind === 'prepare' && (to === 3 || to === 4)));
  assert.ok(net.decided.length > 0);
  for (const { view: v } of net.decided) assert.deepEqual(v.members, fastValue.members);
});

test('the fast round is used once per epoch: a stalled fast proposal is retried with both phases', () => {
  const net = new Net();
  const view: View = { epoch: 1, members: members([0, 1, 2]), shadows: [] };
  net.nodes = [0, 1, 2].map((id) => new Node(id, net, view));
  const n0 = net.nodes[0] as Node;
  const value: ViewValue = { members: members([0, 1]), shadows: [] };
  n0.paxos.propose(value);
  net.run(() => false);
  net.nowMs += SIM_TIMING.proposalTimeoutMs;
  assert.equal(n0.paxos.mayPropose(), true);
  n0.paxos.propose(value);
  assert.equal(kindsOf(net)[0], 'prepare');
  assert.deepEqual(n0.paxos.stats, {
    proposals: 2,
    fastProposals: 1,
    learned: 0,
    votesRefused: 0,
  });
  assert.equal(net.decided.length, 1);
  for (const { view: v } of net.decided) assert.deepEqual(v.members, value.members);
});

test('a joiner, and every member, learns the view from a majority of votes, before the proposer tells it', () => {
  const net = new Net();
  const view: View = { epoch: 1, members: members([0, 1, 2, 3]), shadows: [] };
  // Replica 4 restarted: it knows epoch 1 (without itself) and votes in nothing.
  net.nodes = [0, 1, 2, 3, 4].map((id) => new Node(id, net, view));
  const joiner = net.nodes[4] as Node;
  const admitting: ViewValue = { members: members([0, 1, 2, 3, 4]), shadows: [4] };
  (net.nodes[0] as Node).paxos.propose(admitting);
  // The proposer's own vote and replica 1's reach the joiner; 2's and 3's are lost on the way.
  let votes = 0;
  net.run((to, msg) => {
    if (to !== 4) return true;
    assert.equal(msg.kind, 'accepted', 'the joiner hears votes, nothing else');
    return msg.sender === 0 || msg.sender === 1 || msg.sender === 2 ? votes++ < 3 : false;
  });
  const learned = net.learned.filter(({ by }) => by === 4);
  assert.deepEqual(
    learned.map(({ view: v }) => [v.epoch, v.members, v.shadows]),
    [[2, admitting.members, [4]]],
    'the joiner learned it from three of the four members of epoch 1',
  );
  assert.equal(joiner.view.epoch, 2);
  assert.equal(joiner.paxos.stats.learned, 1);
  assert.deepEqual(
    net.decided.map(({ by, view: v }) => [by, v.epoch]),
    [[0, 2]],
    'the proposer decided it',
  );
  assert.deepEqual(
    net.learned.map(({ by }) => by).sort(),
    [1, 2, 3, 4],
    'every other member of the value learned it from the votes as well',
  );
});

test('a joiner counts only a majority of votes that agree: a minority or a mismatched value is not a view', () => {
  const net = new Net();
  const view: View = { epoch: 1, members: members([0, 1, 2, 3]), shadows: [] };
  net.nodes = [0, 1, 2, 3, 4].map((id) => new Node(id, net, view));
  const joiner = net.nodes[4] as Node;
  (net.nodes[0] as Node).paxos.propose({ members: members([0, 1, 2, 3, 4]), shadows: [4] });
  const toJoiner: Wire[] = [];
  net.run((to, msg) => {
    if (to === 4) toJoiner.push(msg);
    return to !== 4;
  });
  assert.equal(toJoiner.length, 4, 'every acceptor of epoch 1 voted to the joiner');
  const [first, second, third] = toJoiner as [Wire, Wire, Wire];
  joiner.receive(first);
  joiner.receive(second);
  joiner.receive(first);
  assert.equal(joiner.view.epoch, 1, 'two distinct votes of four members are no majority');
  joiner.receive({ ...third, members: members([0, 1, 2, 4]) });
  joiner.receive({ ...third, quorum: 2 });
  assert.equal(joiner.view.epoch, 1, 'a vote for the same ballot with another value is refused');
  assert.equal(joiner.paxos.stats.votesRefused, 2);
  joiner.receive(third);
  assert.equal(joiner.view.epoch, 2);
  // A vote for a view that does not admit the receiver teaches it nothing.
  const bystander = new Node(5, net, view);
  bystander.receive(first);
  bystander.receive(second);
  bystander.receive(third);
  assert.equal(bystander.view.epoch, 1);
});
