import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import type { KeyRecord } from '../src/storage/key-record.js';
import type { KeyTs } from '../src/protocol/messages.js';
import { compareTs, type Ts } from '../src/protocol/timestamp.js';
import type { View } from '../src/protocol/view.js';
import { SIM_TIMING } from '../src/protocol/timing.js';
import {
  DpTrackers,
  MAX_DP_RETRY_DOUBLINGS,
  MAX_DP_RETRY_SCAN_PER_TICK,
  type DpTrackersHost,
} from '../src/protocol/dp-trackers.js';

/**
 * DpTrackers with a hand-built host: replica 0 of members 0..n-1, a clock the test moves, its
 * own medium's persisted and durable ts per key in maps, and every call to the host recorded.
 */
class Host implements DpTrackersHost {
  readonly self: ActorId = 0;
  readonly timing = SIM_TIMING;
  nowMs = 100;
  members: ActorId[];
  readonly persisted = new Map<string, Ts>();
  readonly durable = new Map<string, Ts>();
  readonly reachedCalls: {
    key: string;
    ts: Ts;
    announce: boolean;
    record: KeyRecord | undefined;
  }[] = [];
  readonly requests: { to: ActorId; item: KeyTs }[] = [];
  readonly persistedRecords: (KeyRecord | undefined)[] = [];

  constructor(members: number) {
    this.members = Array.from({ length: members }, (_, i) => i);
  }

  view(): View {
    return { epoch: 1, members: this.members.map((id) => ({ id, incarnation: 0 })), shadows: [] };
  }
  now(): number {
    return this.nowMs;
  }
  persistedAtLeast(key: string, ts: Ts, record?: KeyRecord): boolean {
    this.persistedRecords.push(record);
    const have = this.persisted.get(key);
    return have !== undefined && compareTs(have, ts) >= 0;
  }
  isDurable(key: string, ts: Ts): boolean {
    const have = this.durable.get(key);
    return have !== undefined && compareTs(have, ts) >= 0;
  }
  reached(key: string, ts: Ts, announce: boolean, record?: KeyRecord): void {
    this.reachedCalls.push({ key, ts, announce, record });
    this.durable.set(key, ts);
  }
  request(to: ActorId, item: KeyTs): void {
    this.requests.push({ to, item });
  }
  takeRequests(): string[] {
    return this.requests.splice(0).map(({ to, item }) => `${to}:${item.key}@${item.version}`);
  }
}

const ts = (version: number, cid: ActorId = 0): Ts => ({ version, cid });
const acks = (...ids: ActorId[]): ReadonlySet<ActorId> => new Set(ids);
const RETRY_MS = SIM_TIMING.retransmitMs;

test('a write every member persisted is at DP at once: reached with its announce and record, no tracker kept', () => {
  const host = new Host(3);
  const trackers = new DpTrackers(host);
  const record: KeyRecord = { key: 'a', ts: ts(1), value: 'v', state: 'valid', origin: 0, seq: 1 };
  host.persisted.set('a', ts(1));
  trackers.track('a', ts(1), acks(1, 2), true, false, record);
  assert.deepEqual(host.reachedCalls, [{ key: 'a', ts: ts(1), announce: false, record }]);
  assert.equal(
    host.persistedRecords[0],
    record,
    'the record at hand is handed to persistedAtLeast',
  );
  assert.equal(trackers.stats.dpReached, 1);
  assert.deepEqual([...trackers.partiallyPersisted()], []);
  assert.equal(trackers.partiallyPersistedStats().dpTrackers, 0);
});

test('a write already durable here is not tracked, and a tracker is not replaced by an older write of its key', () => {
  const host = new Host(3);
  const trackers = new DpTrackers(host);
  host.durable.set('a', ts(2));
  trackers.track('a', ts(2), acks(), true);
  assert.equal(trackers.partiallyPersistedStats().dpTrackers, 0, 'durable: nothing to track');
  trackers.track('b', ts(3), acks(), true);
  trackers.track('b', ts(2), acks(), true);
  trackers.track('b', ts(3), acks(), false);
  assert.deepEqual(
    [...trackers.partiallyPersisted()].map((p) => p.ts),
    [ts(3)],
    'the newer tracker stays',
  );
  trackers.track('b', ts(4), acks(), false);
  assert.deepEqual(
    [...trackers.partiallyPersisted()],
    [],
    'a newer write replaces it (not coordinated here)',
  );
  assert.equal(trackers.partiallyPersistedStats().dpTrackers, 1);
  assert.equal(trackers.stats.dpReached, 0);
});

test('persist acks bring a write to DP once every member of the view holds it or a later ts', () => {
  const host = new Host(3);
  const trackers = new DpTrackers(host);
  trackers.track('a', ts(5), acks(), true);
  host.persisted.set('a', ts(5));
  trackers.ack(1, 'a', ts(4));
  trackers.ack(1, 'b', ts(9));
  assert.equal(
    host.reachedCalls.length,
    0,
    'an ack of an older ts or another key counts for nothing',
  );
  trackers.ack(1, 'a', ts(5));
  assert.equal(host.reachedCalls.length, 0, 'member 2 has not acked');
  trackers.ack(2, 'a', ts(6));
  assert.deepEqual(
    host.reachedCalls.map((c) => [c.key, c.ts, c.announce]),
    [['a', ts(5), true]],
    'a later ts acks it too',
  );
  assert.equal(trackers.stats.dpReached, 1);
  trackers.reached('a', ts(5));
  assert.equal(trackers.partiallyPersistedStats().dpTrackers, 0);
});

test('an ack of an older ts than the tracked write is not an ack of it', () => {
  const host = new Host(3);
  const trackers = new DpTrackers(host);
  host.persisted.set('a', ts(5));
  trackers.track('a', ts(5), acks(), true);
  trackers.ack(1, 'a', ts(4));
  trackers.ack(2, 'a', ts(5));
  assert.equal(host.reachedCalls.length, 0, 'member 1 holds only ts 4: not at DP');
  trackers.ack(1, 'a', ts(5));
  assert.equal(host.reachedCalls.length, 1);
});

test('every member acked but this replica has not persisted yet: no DP', () => {
  const host = new Host(3);
  const trackers = new DpTrackers(host);
  trackers.track('a', ts(1), acks(1, 2), true);
  assert.equal(host.reachedCalls.length, 0);
  assert.equal(trackers.partiallyPersistedStats().partiallyPersisted, 1);
});

test('reached drops a tracker of the same or an older ts, never one of a later write', () => {
  const host = new Host(3);
  const trackers = new DpTrackers(host);
  trackers.reached('a', ts(1)); // no trackers at all
  trackers.track('a', ts(3), acks(), true);
  trackers.reached('a', ts(2));
  trackers.reached('b', ts(9));
  assert.equal(trackers.partiallyPersistedStats().dpTrackers, 1);
  trackers.reached('a', ts(4));
  assert.equal(trackers.partiallyPersistedStats().dpTrackers, 0);
  trackers.track('c', ts(3), acks(), true);
  trackers.reached('c', ts(3));
  assert.equal(trackers.partiallyPersistedStats().dpTrackers, 0);
});

test('persist requests go to the members that have not acked, after retransmitMs, then back off by doubling up to a bound', () => {
  const host = new Host(4);
  const trackers = new DpTrackers(host);
  const start = host.nowMs;
  trackers.track('a', ts(1), acks(2), true);
  trackers.tick();
  assert.deepEqual(host.takeRequests(), [], 'the coordinator just sent its INVs');
  host.nowMs = start + RETRY_MS - 1;
  trackers.tick();
  assert.deepEqual(host.takeRequests(), []);
  // Request k (k = 1, 2, ...) is due RETRY_MS * 2^min(k-1, MAX_DP_RETRY_DOUBLINGS) after the one before.
  let last = start;
  for (let k = 1; k <= MAX_DP_RETRY_DOUBLINGS + 3; k++) {
    const gap = RETRY_MS * 2 ** Math.min(k - 1, MAX_DP_RETRY_DOUBLINGS);
    host.nowMs = last + gap - 1;
    trackers.tick();
    assert.deepEqual(host.takeRequests(), [], `request ${k} not before ${gap} ms`);
    host.nowMs = last + gap;
    trackers.tick();
    assert.deepEqual(
      host.takeRequests(),
      ['1:a@1', '3:a@1'],
      `request ${k} after ${gap} ms, not to itself nor to 2`,
    );
    last = host.nowMs;
  }
  assert.equal(trackers.stats.persistRequests, 2 * (MAX_DP_RETRY_DOUBLINGS + 3));
});

test('a tracker this replica did not coordinate (adopted) asks at the next tick and is not on the Partially-persisted list', () => {
  const host = new Host(3);
  const trackers = new DpTrackers(host);
  trackers.adopt('a', ts(2, 7));
  trackers.adopt('a', ts(3, 7));
  assert.deepEqual([...trackers.partiallyPersisted()], []);
  assert.deepEqual(trackers.partiallyPersistedStats(), {
    partiallyPersisted: 0,
    partiallyPersistedOldestMs: 0,
    dpTrackers: 1,
  });
  trackers.tick();
  assert.deepEqual(
    host.takeRequests(),
    ['1:a@2', '2:a@2'],
    'adopting a key tracked already changes nothing',
  );
});

test('the Partially-persisted list: the coordinated trackers, since their VP, and its stats', () => {
  const host = new Host(3);
  const trackers = new DpTrackers(host);
  host.nowMs = 10;
  trackers.track('a', ts(1), acks(), true);
  host.nowMs = 25;
  trackers.track('b', ts(1), acks(), true);
  trackers.track('c', ts(1), acks(), false);
  host.nowMs = 40;
  assert.deepEqual(
    [...trackers.partiallyPersisted()],
    [
      { key: 'a', ts: ts(1), sinceMs: 10 },
      { key: 'b', ts: ts(1), sinceMs: 25 },
    ],
  );
  assert.deepEqual(trackers.partiallyPersistedStats(), {
    partiallyPersisted: 2,
    partiallyPersistedOldestMs: 30,
    dpTrackers: 3,
  });
});

test('one tick scans at most MAX_DP_RETRY_SCAN_PER_TICK trackers, oldest request first; a request moves its tracker to the end', () => {
  const host = new Host(2);
  const trackers = new DpTrackers(host);
  const n = MAX_DP_RETRY_SCAN_PER_TICK + 1;
  for (let i = 0; i < n; i++) trackers.track(`k${i}`, ts(1), acks(), false);
  trackers.tick();
  const first = host.takeRequests();
  assert.equal(first.length, MAX_DP_RETRY_SCAN_PER_TICK);
  assert.equal(first[0], '1:k0@1');
  assert.ok(!first.includes(`1:k${n - 1}@1`), 'the last one is past the scan bound');
  trackers.tick();
  assert.deepEqual(
    host.takeRequests(),
    [`1:k${n - 1}@1`],
    'the requested ones moved behind it; it is scanned first now',
  );
});

test('a view change counts only the members that stay, re-asks at once, and adopts Valid records whose coordinator left', () => {
  const host = new Host(4);
  const trackers = new DpTrackers(host);
  host.persisted.set('a', ts(1));
  trackers.track('a', ts(1), acks(1, 2), true);
  trackers.track('b', ts(1), acks(1), true);
  // both were requested once: the next request is far off
  host.nowMs += RETRY_MS;
  trackers.tick();
  host.takeRequests();
  assert.equal(host.reachedCalls.length, 0);
  host.members = [0, 1, 2];
  const record = (
    key: string,
    version: number,
    cid: ActorId,
    state: KeyRecord['state'],
  ): KeyRecord => ({ key, ts: ts(version, cid), value: 'v', state, origin: cid, seq: 1 });
  host.durable.set('d', ts(1, 3));
  trackers.viewInstalled(host.view(), [
    record('c', 1, 3, 'valid'), // its coordinator (3) left: adopted
    record('d', 1, 3, 'valid'), // durable already
    record('e', 1, 3, 'invalid'), // not Valid: its write is still in progress
    record('f', 1, 1, 'valid'), // its coordinator stays: it tracks it
  ]);
  assert.deepEqual(
    host.reachedCalls.map((c) => c.key),
    ['a'],
    'a: every remaining member holds it',
  );
  trackers.reached('a', ts(1));
  trackers.tick();
  assert.deepEqual(
    host.takeRequests().sort(),
    ['1:c@1', '2:b@1', '2:c@1'],
    'b is asked again at once, c is adopted',
  );
});
