import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Codec, type MessageHeader } from '@heal/actors/core';
import type { KeyRecord, View } from '@heal/kv/replica';
import { HEAL_MESSAGES } from '../src/heal-messages.js';
import { healRecovery } from '../src/heal-recovery.js';
import {
  BUDDY,
  JOINER,
  keyOf,
  Net,
  queuedJoinSession,
  rec,
  sentBy,
  type Msg,
  type Node,
} from './heal-session-harness.js';

/**
 * The HEAL strategy object a replica plugs in (heal-recovery.ts), driven through its hooks with a
 * harness node's context: what it reads at start, what its digest and the Buddy's buffer take
 * on apply, and what the recovery meter counts.
 */

/** Node 1 restarted (incarnation 1), not admitted yet; the view to admit it as a shadow is installed. */
function restarted(): { net: Net; node: Node } {
  const net = new Net(4);
  const node = net.nodes[JOINER] as Node;
  node.incarnation = 1;
  node.recovering = true;
  node.admitted = false;
  const members = net.view.members.map((m) => (m.id === JOINER ? { ...m, incarnation: 1 } : m));
  net.view = { epoch: 2, members, shadows: [JOINER] };
  return { net, node };
}

/** Counts the scans of a replica's records. */
class ScannedRecords extends Map<string, KeyRecord> {
  scans = 0;
  override values(): MapIterator<KeyRecord> {
    this.scans++;
    return super.values();
  }
}

// Mutant: heal-recovery.ts #344.
test("at start the digest is the medium's kept one, without a scan of the records; else computed from them", () => {
  for (const kept of [true, false]) {
    const { net, node } = restarted();
    for (let i = 0; i < 10; i++) node.write(rec(keyOf(i), 1, i + 1));
    const records = new ScannedRecords(node.records);
    const lanes = node.digest.bucketLanes();
    const ctx = {
      ...node.ctx,
      records: () => records,
      loadedDigest: () => (kept ? lanes : undefined),
    };
    const strategy = healRecovery.create(JOINER, {});
    strategy.onStart?.(ctx);
    assert.equal(records.scans, kept ? 0 : 1);
    node.admitted = true;
    strategy.onAdmitted({ ...ctx, admitted: true });
    const join = net.queue.find((q) => q.msg.kind === 'heal-join');
    assert.equal(join?.msg['root'], node.digest.root(), 'the digest it joins with');
  }
});

// Mutant: heal-recovery.ts #347.
test("the Buddy's buffer takes a write whose ts changed, not a record whose state alone changed", () => {
  const net = new Net(4);
  const node = net.nodes[BUDDY] as Node;
  const strategy = healRecovery.create(BUDDY, {});
  const before = net.view;
  const after: View = {
    epoch: 2,
    members: before.members.filter((m) => m.id !== JOINER),
    shadows: [],
  };
  net.view = after;
  strategy.onViewInstalled(node.ctx, before, true);
  const buffered = () => strategy.stats?.()['missedBufferKeys'];
  assert.equal(buffered(), 0);
  strategy.onApply?.(node.ctx, { ...rec('a', 2, 1), state: 'invalid' }, { version: 1, cid: 0 });
  assert.equal(buffered(), 1);
  // 'b' validated: its ts is the one it held
  strategy.onApply?.(node.ctx, rec('b', 3, 2), { version: 3, cid: 0 });
  assert.equal(buffered(), 1);
});

// Mutants: heal-recovery.ts #354 #355 #356.
test('the meter counts the bytes of the messages a join receives, none before it', () => {
  const codec = new Codec<{ kind: string } & MessageHeader>(HEAL_MESSAGES);
  for (const early of [false, true]) {
    const { net, node } = restarted();
    const strategy = healRecovery.create(JOINER, {});
    strategy.onStart?.(node.ctx);
    // a stray message of a session this replica no longer runs, before it joins
    if (early) strategy.receive(node.ctx, sentBy(net, BUDDY, { kind: 'heal-done-ok', session: 1 }));
    node.admitted = true;
    strategy.onAdmitted(node.ctx);
    const session = queuedJoinSession(net);
    const join: Msg[] = [
      sentBy(net, BUDDY, {
        kind: 'heal-end',
        session,
        mode: 'buffer',
        batches: 0,
        sources: 1,
        vvSkipped: 0,
      }),
      sentBy(net, BUDDY, { kind: 'heal-done-ok', session }),
    ];
    for (const msg of join) strategy.receive(node.ctx, msg);
    assert.equal(node.recovering, false, 'recovered');
    const bytes = join.reduce((n, msg) => n + codec.sizeOf(msg), 0);
    assert.ok(bytes > 0);
    assert.equal(strategy.report?.()?.bytesMoved, bytes);
  }
});
