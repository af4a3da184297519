import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SIM_TIMING } from '@heal/kv/replica';
import { HEAL_KEYS_MAX_ENTRIES } from '../src/heal-messages.js';
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
 * The joiner's side of one exchange, step by step with crafted Buddy and helper messages at
 * chosen times: what it answers, what it meters, and when it resends.
 */

/** Node 1 restarted with `keys` keys and joined node 2 at time 0; the heal-join is taken off the network. */
function joining(keys = 8): { net: Net; joiner: Node; session: number } {
  const net = new Net(4);
  outage(net, keys, 2, true);
  const session = queuedJoinSession(net);
  net.queue.length = 0;
  return { net, joiner: net.nodes[JOINER] as Node, session };
}

const entry = (i: number, version: number) => {
  const r = rec(keyOf(i), version, 100 + i);
  return { ...r, ...r.ts };
};

// Mutants: heal-joiner.ts #179 #181 #184 #225 #228 #251 #292 #294.
test('a buffer exchange meters each phase once, from the accept to the confirmation; duplicates count once', () => {
  const { net, joiner, session } = joining();
  const at = (ms: number, from: number, body: { kind: string; [field: string]: unknown }) => {
    net.nowMs = ms;
    joiner.receive(sentBy(net, from, { ...body, session }));
  };
  const end = { kind: 'heal-end', mode: 'buffer', batches: 2, sources: 1, vvSkipped: 1 };
  at(2, BUDDY, { kind: 'heal-accept', mode: 'buffer', selected: 2 });
  at(5, BUDDY, { kind: 'heal-batch', batch: 0, entries: [entry(0, 2)] });
  at(6, BUDDY, { kind: 'heal-batch', batch: 0, entries: [entry(0, 2)] });
  at(7, BUDDY, { kind: 'heal-batch', batch: 1, entries: [entry(1, 2)] });
  at(9, BUDDY, end);
  at(10, BUDDY, end);
  at(12, BUDDY, { kind: 'heal-done-ok' });
  assert.deepEqual(joiner.log, ['persist', 'heal-done', 'finish']);
  assert.deepEqual(
    net.queue.map((q) => [q.to, q.msg.kind, q.msg['batch']]),
    [
      [BUDDY, 'heal-batch-ack', 0],
      [BUDDY, 'heal-batch-ack', 0],
      [BUDDY, 'heal-batch-ack', 1],
      [BUDDY, 'heal-done', undefined],
    ],
    'a duplicate batch is acknowledged again (its ack may have been lost)',
  );
  const report = joiner.meter.report();
  assert.ok(report);
  assert.deepEqual(report.phasesMs, {
    load: 0,
    join: 0,
    startToAck: 2,
    exchange: 3,
    replay: 4,
    finalize: 3,
  });
  assert.deepEqual(report.counts, { vvSkipped: 1, bufferSessions: 1 });
  assert.deepEqual([report.entriesReceived, report.entriesApplied], [2, 2]);
  assert.equal(joiner.joiner.stats.healEntriesApplied, 2);
});

// Mutant: heal-joiner.ts #293.
test('an exchange with nothing to stream still meters an exchange phase, ending at the end', () => {
  const { net, joiner, session } = joining();
  const at = (ms: number, body: { kind: string; [field: string]: unknown }) => {
    net.nowMs = ms;
    joiner.receive(sentBy(net, BUDDY, { ...body, session }));
  };
  at(2, { kind: 'heal-accept', mode: 'buffer', selected: 0 });
  at(6, { kind: 'heal-end', mode: 'buffer', batches: 0, sources: 1, vvSkipped: 0 });
  at(8, { kind: 'heal-done-ok' });
  assert.deepEqual(joiner.meter.report()?.phasesMs, {
    load: 0,
    join: 0,
    startToAck: 2,
    exchange: 4,
    replay: 0,
    finalize: 2,
  });
});

// Mutants: heal-joiner.ts #245 #246 #247.
test("the joiner acknowledges a helper's end (again if resent), never the Buddy's", () => {
  const { net, joiner, session } = joining();
  const end = { kind: 'heal-end', session, mode: 'descent', batches: 0, sources: 3, vvSkipped: 0 };
  joiner.receive(sentBy(net, BUDDY, end));
  assert.equal(net.queue.length, 0, "the Buddy's end needs no ack: heal-done confirms it");
  joiner.receive(sentBy(net, 0, end));
  joiner.receive(sentBy(net, 0, end));
  joiner.receive(sentBy(net, 3, end));
  assert.deepEqual(
    net.queue.map((q) => [q.to, q.msg.kind]),
    [
      [0, 'heal-end-ack'],
      [0, 'heal-end-ack'],
      [3, 'heal-end-ack'],
      [BUDDY, 'heal-done'],
    ],
  );
  assert.deepEqual(joiner.meter.report(), undefined);
  joiner.receive(sentBy(net, BUDDY, { kind: 'heal-done-ok', session }));
  assert.deepEqual(joiner.meter.report()?.counts, { descentSessions: 1, parallelSources: 3 });
});

// Mutants: heal-joiner.ts #205 #206 #209 #210 #211 #212.
test('the joiner sends its keys of the asked buckets in parts of HEAL_KEYS_MAX_ENTRIES, the last one marked', () => {
  const keys = HEAL_KEYS_MAX_ENTRIES + 2;
  const { net, joiner, session } = joining(keys);
  const buckets = new Set(Array.from({ length: keys }, (_, i) => joiner.digest.bucketOf(keyOf(i))));
  joiner.receive(
    sentBy(net, BUDDY, { kind: 'heal-keys-request', session, attempt: 3, buckets: [...buckets] }),
  );
  const parts = net.queue.map((q) => {
    assert.equal(q.to, BUDDY);
    return q.msg as unknown as {
      kind: string;
      session: number;
      attempt: number;
      part: number;
      last: boolean;
      entries: { key: string; version: number; cid: number }[];
    };
  });
  assert.deepEqual(
    parts.map((p) => [p.kind, p.session, p.attempt, p.part, p.last, p.entries.length]),
    [
      ['heal-keys', session, 3, 0, false, HEAL_KEYS_MAX_ENTRIES],
      ['heal-keys', session, 3, 1, true, 2],
    ],
  );
  const sent = parts.flatMap((p) => p.entries);
  assert.deepEqual(
    new Set(sent.map((e) => e.key)),
    new Set(Array.from({ length: keys }, (_, i) => keyOf(i))),
  );
  for (const e of sent) assert.deepEqual([e.version, e.cid], [1, 0], e.key);
});

// Mutants: heal-joiner.ts #323 #324 #325 #326.
test('an unanswered join is resent once every retransmit period, not sooner', () => {
  const { net, joiner } = joining();
  const resent: number[] = [];
  for (let ms = 1; ms <= 2 * SIM_TIMING.retransmitMs + 2; ms++) {
    net.nowMs = ms;
    joiner.joiner.tick(joiner.ctx);
    resent.push(joiner.joiner.stats.joinsResent);
  }
  const r = SIM_TIMING.retransmitMs;
  assert.deepEqual(
    resent,
    resent.map((_, i) => Math.floor((i + 1) / r)),
  );
  assert.deepEqual(
    net.queue.map((q) => [q.to, q.msg.kind]),
    [
      [BUDDY, 'heal-join'],
      [BUDDY, 'heal-join'],
    ],
  );
});
