import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SIM_TIMING } from '@heal/kv/replica';
import {
  BUDDY,
  JOINER,
  joinAfterOutage,
  Net,
  type Msg,
  type Node,
} from './heal-session-harness.js';

/**
 * A helper's side of a parallel descent stream (HealBuddy's #onAssist and #onEndAck): the Buddy's
 * heal-assist names the keys a helper streams to the joiner beside it, in chunks. Each test hands
 * node 0 (a helper) crafted assists and the joiner's answers, and checks what it sent.
 */

const HELPER = 0;

/** The Buddy's assist of `keys` to the helper, chunk `chunk` of `chunks`, for the joiner's `session`. */
function assist(session: number, keys: string[], chunk = 0, chunks = 1): Msg {
  return {
    kind: 'heal-assist',
    session,
    joiner: JOINER,
    incarnation: 1,
    sources: 2,
    chunk,
    chunks,
    keys,
    epoch: 3,
    sender: BUDDY,
  };
}

/** A message of the joiner's, to the helper. */
const fromJoiner = (kind: string, session: number, fields: object = {}): Msg => ({
  kind,
  session,
  ...fields,
  epoch: 3,
  sender: JOINER,
});

function helperAfterOutage(): { net: Net; helper: Node; session: number } {
  const net = new Net(4);
  const session = joinAfterOutage(net)['session'] as number;
  return { net, helper: net.nodes[HELPER] as Node, session };
}

/** The keys of the entries of the queued heal-batch messages, in order. */
const batchKeys = (net: Net): string[] =>
  net.queued('heal-batch').flatMap((m) => (m['entries'] as { key: string }[]).map((e) => e.key));

const retransmitPeriod = (net: Net, node: Node): void => {
  net.nowMs += SIM_TIMING.retransmitMs + 1;
  node.buddy.tick(node.ctx);
};

// Mutants 155-160, 162, 164.
test('a helper ignores an assist it cannot act on', () => {
  const { net, helper, session } = helperAfterOutage();
  const ignored = (what: string, msg: Msg): void => {
    helper.receive(msg);
    assert.deepEqual(net.queuedKinds(), [], what);
    assert.equal(helper.buddy.stats.sessionsAssisted, 0, what);
  };
  const keys = ['k0', 'k1'];
  helper.admitted = false;
  ignored('a helper not admitted', assist(session, keys));
  helper.admitted = true;
  helper.recovering = true;
  ignored('a helper still recovering', assist(session, keys));
  helper.recovering = false;
  ignored('an assist of an older view', { ...assist(session, keys), epoch: 2 });
  ignored("an assist for the joiner's earlier incarnation", {
    ...assist(session, keys),
    incarnation: 0,
  });
  helper.receive(assist(session, keys));
  assert.deepEqual(net.queuedKinds(), ['heal-batch', 'heal-end'], 'the assist itself');
  assert.deepEqual(batchKeys(net), keys);
});

// Mutants 169, 181, 278.
test('a helper streams its share once every chunk arrived, in chunk order', () => {
  const { net, helper, session } = helperAfterOutage();
  helper.receive(assist(session, ['k2'], 1, 2));
  assert.deepEqual(net.queuedKinds(), [], 'one chunk of two');
  retransmitPeriod(net, helper);
  assert.deepEqual(net.queuedKinds(), [], 'nothing to resend yet');
  helper.receive(assist(session, ['k0', 'k1'], 0, 2));
  assert.deepEqual(batchKeys(net), ['k0', 'k1', 'k2']);
  assert.equal(net.queue.at(-1)?.msg.kind, 'heal-end');
  assert.equal(helper.buddy.stats.sessionsAssisted, 1);
});

// Mutants 207, 209.
test("an end-ack that overtakes the helper's stream is ignored", () => {
  const { net, helper, session } = helperAfterOutage();
  helper.receive(assist(session, ['k0'], 0, 2));
  helper.receive(fromJoiner('heal-end-ack', session));
  helper.receive(assist(session, ['k1'], 1, 2));
  assert.deepEqual(batchKeys(net), ['k0', 'k1'], 'the session goes on');
});

// Mutants 167, 201, 202, 205, 208, 210, 225, 226, 250.
test('a helper resends its end until the joiner acknowledges it, then forgets the session', () => {
  const { net, helper, session } = helperAfterOutage();
  const sent = assist(session, ['k0', 'k1']);
  helper.receive(sent);
  helper.receive(fromJoiner('heal-batch-ack', session, { batch: 0 }));
  // heal-done goes to the Buddy alone: a helper has nothing to confirm
  helper.receive(fromJoiner('heal-done', session));
  net.queue.length = 0;
  retransmitPeriod(net, helper);
  assert.deepEqual(net.queuedKinds(), ['heal-end'], 'the end is resent');
  net.queue.length = 0;
  helper.receive(fromJoiner('heal-end-ack', session));
  retransmitPeriod(net, helper);
  assert.deepEqual(net.queuedKinds(), [], 'the session is forgotten');
  helper.receive(sent);
  assert.deepEqual(net.queuedKinds(), [], 'a resent assist of the finished session is ignored');
  assert.equal(helper.buddy.stats.sessionsAssisted, 1);
});
