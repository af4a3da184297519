import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertSame,
  BUDDY,
  JOINER,
  joinAfterOutage,
  keyOf,
  Net,
  outage,
  recovered,
  type Msg,
  type Node,
} from './heal-session-harness.js';

/**
 * What the Buddy does with the joiner's messages during a session (HealBuddy's #served and the
 * handlers behind it): a message of another session, of a replica it does not serve, or that
 * comes before the step it answers changes nothing. Each test hands the Buddy such messages
 * itself and checks what it sent.
 */

/** A message of `sender`'s to the Buddy, in view 3 (outage()'s admitting view). */
const msgFrom = (sender: number, kind: string, session: number, fields: object = {}): Msg => ({
  kind,
  session,
  ...fields,
  epoch: 3,
  sender,
});

// Mutants 148, 151, 196, 214, 215, 223-226.
test('messages of a session the Buddy does not serve are ignored', () => {
  const net = new Net(4);
  const join = joinAfterOutage(net);
  const buddy = net.nodes[BUDDY] as Node;
  buddy.receive(join); // buffer mode: the stream (one batch) and its end are sent at once
  net.queue.length = 0;
  const session = join['session'] as number;
  const other = session + 1;
  for (const msg of [
    msgFrom(JOINER, 'heal-nodes', other, { level: 0, indices: [0], hashes: ['0'.repeat(16)] }),
    msgFrom(JOINER, 'heal-keys', other, { attempt: 1, part: 0, last: true, entries: [] }),
    msgFrom(JOINER, 'heal-batch-ack', other, { batch: 0 }),
    msgFrom(JOINER, 'heal-end-ack', other),
    msgFrom(JOINER, 'heal-done', other),
    // a replica this Buddy never served
    msgFrom(3, 'heal-done', session),
  ])
    buddy.receive(msg);
  assert.deepEqual(net.queuedKinds(), []);
  assert.equal(buddy.buddy.stats.doneOksResent, 0);
  assert.ok(buddy.buddy.handoffs.buffer(JOINER), 'the buffer is kept');
  buddy.receive(msgFrom(JOINER, 'heal-done', session));
  assert.deepEqual(net.queuedKinds(), ['heal-done-ok'], "the session's own heal-done");
  assert.equal(buddy.buddy.handoffs.buffer(JOINER), undefined);
});

// Mutants 199, 224, 228, 230.
test('during the descent, before the Buddy streams, a batch ack or heal-done of the session is ignored', () => {
  const net = new Net(4);
  outage(net, 20, 3, false); // the medium kept nothing: the Buddy runs a descent
  const [join] = net.take('heal-join');
  const buddy = net.nodes[BUDDY] as Node;
  buddy.receive(join as Msg);
  assert.deepEqual(net.queuedKinds(), ['heal-accept', 'heal-nodes-request']);
  const session = join?.['session'] as number;
  buddy.receive(msgFrom(JOINER, 'heal-batch-ack', session, { batch: 0 }));
  buddy.receive(msgFrom(JOINER, 'heal-done', session));
  assert.deepEqual(net.queuedKinds(), ['heal-accept', 'heal-nodes-request']);
  assert.ok(buddy.buddy.handoffs.buffer(JOINER), 'the buffer is kept');
  net.run(recovered(net));
  assertSame(net, 20);
});

// Mutants 237, 259, 260.
test('the Buddy takes the messages of a Buddy or helper, and only those', () => {
  const net = new Net(4);
  outage(net, 4, 1, true);
  const buddy = net.nodes[BUDDY] as Node;
  const items = [{ key: keyOf(0), version: 2, cid: 0 }];
  const handoff = { kind: 'heal-handoff', failed: JOINER, items, epoch: 3, sender: 0 };
  const { handoffItemsTaken, handoffItemsDropped } = buddy.buddy.stats;
  assert.equal(buddy.buddy.receive(buddy.ctx, handoff), true);
  const s = buddy.buddy.stats;
  assert.equal(
    s.handoffItemsTaken + s.handoffItemsDropped - handoffItemsTaken - handoffItemsDropped,
    1,
    'the handoff went to the handoffs',
  );
  const accept = msgFrom(BUDDY, 'heal-accept', 1, { mode: 'buffer', selected: 0 });
  assert.equal(buddy.buddy.receive(buddy.ctx, accept), false, "the joiner's");
});
