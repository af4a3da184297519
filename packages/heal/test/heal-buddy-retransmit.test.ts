import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SIM_TIMING } from '@heal/kv/replica';
import { HEAL_PARALLEL_MIN_KEYS } from '../src/heal-buddy.js';
import { BUDDY, JOINER, joinAfterOutage, Net, outage, type Node } from './heal-session-harness.js';

/**
 * What the Buddy resends on its tick (HealBuddy.tick and #resend): after a whole retransmit
 * period without progress, the batches not acknowledged and the end; its helpers' assignments
 * only once its own stream is whole at the joiner. Only the Buddy ticks here.
 */

// Mutants 265, 267, 281, 286, 287.
test('the Buddy resends its stream after a whole retransmit period without progress; no assignments when it has no helpers', () => {
  const net = new Net(4);
  const join = joinAfterOutage(net);
  const buddy = net.nodes[BUDDY] as Node;
  net.nowMs = 1000; // progress at a clock far from 0
  buddy.receive(join);
  net.queue.length = 0;
  const tickAt = (ms: number): string[] => {
    net.nowMs = ms;
    buddy.buddy.tick(buddy.ctx);
    const kinds = net.queuedKinds();
    net.queue.length = 0;
    return kinds;
  };
  assert.deepEqual(tickAt(1000 + SIM_TIMING.retransmitMs), [], 'not within the period');
  assert.deepEqual(tickAt(1000 + SIM_TIMING.retransmitMs + 1), ['heal-batch', 'heal-end']);
  assert.equal(buddy.buddy.stats.assistsResent, 0, 'the stream is not acknowledged');
  const acked = 1000 + 2 * SIM_TIMING.retransmitMs;
  net.nowMs = acked;
  buddy.receive({
    kind: 'heal-batch-ack',
    session: join['session'],
    batch: 0,
    epoch: 3,
    sender: JOINER,
  });
  assert.deepEqual(tickAt(acked + SIM_TIMING.retransmitMs + 1), ['heal-end'], 'until heal-done');
  assert.equal(buddy.buddy.stats.assistsResent, 0, 'no helpers');
});

// Mutants 283-285.
test("the Buddy resends its helpers' assignments only once its own stream is acknowledged", () => {
  const net = new Net(4);
  outage(net, HEAL_PARALLEL_MIN_KEYS + 200, 0, false);
  // the Buddy's stream ends at once, but hears no ack (nor the joiner's heal-done)
  net.drop = (msg, to) =>
    to === BUDDY && (msg.kind === 'heal-batch-ack' || msg.kind === 'heal-done');
  net.deliverAll();
  assert.equal(net.posted.get('heal-assist'), 2, 'one assignment per helper');
  net.drop = () => false;
  const buddy = net.nodes[BUDDY] as Node;
  const period = (): string[] => {
    net.nowMs += SIM_TIMING.retransmitMs + 1;
    buddy.buddy.tick(buddy.ctx);
    return [...new Set(net.queuedKinds())];
  };
  assert.deepEqual(period(), ['heal-batch', 'heal-end'], 'ended, not acknowledged');
  assert.equal(buddy.buddy.stats.assistsResent, 0);
  net.deliverAll(); // the joiner acknowledges the resent batches
  assert.deepEqual(period(), ['heal-end', 'heal-assist']);
  assert.equal(buddy.buddy.stats.assistsResent, 1);
});
