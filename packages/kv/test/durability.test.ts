import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import type { KeyRecord } from '../src/storage/key-record.js';
import type { KvStorage } from '../src/storage/kv-storage.js';
import { DATASET_TS } from '../src/storage/dataset.js';
import { MAX_PERSIST_ITEMS, type KvMessage } from '../src/protocol/messages.js';
import type { Ts } from '../src/protocol/timestamp.js';
import type { View } from '../src/protocol/view.js';
import { SIM_TIMING } from '../src/protocol/timing.js';
import { VersionVector } from '../src/protocol/version-vector.js';
import {
  Durability,
  EVENT_SYNC_TICKS,
  MAX_DEFERRED_ACKS,
  MAX_LEARNED_WRITES,
  type DurabilityHost,
  type HeldRecord,
  type PersistencyModel,
} from '../src/protocol/durability.js';

/**
 * Durability of replica 0 of members 0..n-1 with a hand-built host: a medium that counts its
 * syncs and keeps the version vector each one wrote, the replica's records in a map, and every
 * message, persist ack and DP advance recorded.
 */
class Host implements DurabilityHost {
  readonly self: ActorId = 0;
  readonly timing = SIM_TIMING;
  readonly records = new Map<string, HeldRecord>();
  readonly sent: { to: ActorId; msg: KvMessage }[] = [];
  readonly acks: string[] = [];
  readonly durables: { key: string; record: HeldRecord | undefined }[] = [];
  readonly syncs: (Uint8Array | undefined)[] = [];
  members = [0, 1, 2];
  nowMs = 0;
  /** Called on every persist ack (a test may start a write from it, as a replica does). */
  onAck: (key: string) => void = () => {};
  readonly storage: KvStorage;
  durability!: Durability;

  constructor(
    readonly model: PersistencyModel,
    storedVv?: Uint8Array,
  ) {
    this.storage = {
      medium: 'test',
      loadVersionVector: () => storedVv,
      sync: (vv?: Uint8Array) => {
        this.syncs.push(vv);
      },
    } as unknown as KvStorage;
  }
  view(): View {
    return { epoch: 2, members: this.members.map((id) => ({ id, incarnation: 0 })), shadows: [] };
  }
  now(): number {
    return this.nowMs;
  }
  send(to: ActorId, msg: KvMessage): void {
    this.sent.push({ to, msg });
  }
  persistAck(from: ActorId, key: string, ts: Ts): void {
    this.acks.push(`${from}:${key}@${ts.version}`);
    this.onAck(key);
  }
  durable(key: string, record: HeldRecord | undefined): void {
    this.durables.push({ key, record });
  }
  /** Sent messages as `to kind key@version,...` (acks: `to ack key@version persisted`). */
  take(): string[] {
    return this.sent.splice(0).map(({ to, msg }) => {
      if (msg.kind === 'ack') return `${to} ack ${msg.key}@${msg.version} ${msg.persisted}`;
      if (msg.kind === 'persisted' || msg.kind === 'persist-request' || msg.kind === 'durable') {
        return `${to} ${msg.kind} ${msg.items.map((i) => `${i.key}@${i.version}`).join(',')}`;
      }
      return `${to} ${msg.kind}`;
    });
  }
}

function setup(model: PersistencyModel, storedVv?: Uint8Array): { host: Host; d: Durability } {
  const host = new Host(model, storedVv);
  const d = new Durability(host);
  host.durability = d;
  return { host, d };
}

const ts = (version: number, cid: ActorId = 1): Ts => ({ version, cid });

/** Holds and writes `key` at `version` (value changed), as Replication does. */
function write(
  host: Host,
  d: Durability,
  key: string,
  version: number,
  valueChanged = true,
): HeldRecord {
  const record: KeyRecord = {
    key,
    ts: ts(version),
    value: `v${version}`,
    state: 'valid',
    origin: 1,
    seq: version,
  };
  const held = d.held(record, host.records.get(key));
  host.records.set(key, held);
  d.written(held, valueChanged);
  return held;
}

test('Synch syncs in flush when a value changed, then the held-back ACKs go out with persisted set', () => {
  const { host, d } = setup('synch');
  const rec = write(host, d, 'a', 1);
  d.deferAck(1, rec, ts(1));
  d.flush();
  assert.equal(host.syncs.length, 1);
  assert.equal(d.stats.syncs, 1);
  assert.deepEqual(host.acks, ['0:a@1'], 'its own sync is a persist ack of its own');
  assert.deepEqual(host.take(), ['1 ack a@1 true']);
  assert.equal(rec.persistedTs, rec.ts);
  assert.equal(rec.dirty, false);
  d.flush();
  assert.equal(host.syncs.length, 1, 'nothing new: no sync');
});

test('Synch syncs for a held-back ACK alone; a state-only write alone waits', () => {
  const { host, d } = setup('synch');
  const rec = write(host, d, 'a', 1, false);
  d.flush();
  assert.equal(host.syncs.length, 0, 'a state change alone is not urgent');
  d.deferAck(2, rec, ts(1));
  d.flush();
  assert.equal(host.syncs.length, 1);
  assert.deepEqual(host.take(), ['2 ack a@1 true']);
  d.deferAck(2, rec, ts(3));
  d.flush();
  assert.deepEqual(host.take(), ['2 ack a@3 false'], 'an ACK of a ts not persisted says so');
});

test('Synch: a write started by a persist ack of the sync is synced in the same flush; other models sync once', () => {
  for (const model of ['synch', 'strict'] as const) {
    const { host, d } = setup(model);
    write(host, d, 'a', 1);
    let started = false;
    host.onAck = (key) => {
      if (key === 'a' && !started) {
        started = true;
        write(host, d, 'b', 1);
      }
    };
    if (model === 'strict') d.scopes.onSync(0, 1, []); // a sync request: the flush syncs
    d.flush();
    assert.equal(host.syncs.length, model === 'synch' ? 2 : 1, model);
    assert.deepEqual(host.acks, model === 'synch' ? ['0:a@1', '0:b@1'] : ['0:a@1'], model);
  }
});

test('Strict and REnf sync every tick, Event and Synch every EVENT_SYNC_TICKS ticks, Scope never on a tick', () => {
  const ticks = 2 * EVENT_SYNC_TICKS;
  const expected: Record<PersistencyModel, number> = {
    strict: ticks,
    renf: ticks,
    event: 2,
    scope: 0,
    synch: 2,
  };
  for (const model of ['strict', 'renf', 'event', 'scope', 'synch'] as const) {
    const { host, d } = setup(model);
    let synced = 0;
    for (let i = 1; i <= ticks; i++) {
      write(host, d, `k${i}`, 1, false);
      d.tick();
      if (host.syncs.length > synced) {
        synced = host.syncs.length;
        if (model === 'event' || model === 'synch')
          assert.equal(i % EVENT_SYNC_TICKS, 0, `${model} synced at tick ${i}`);
      }
    }
    assert.equal(host.syncs.length, expected[model], model);
  }
});

test('Scope syncs in the flush after a scope-sync asked, and answers it', () => {
  const { host, d } = setup('scope');
  write(host, d, 'a', 1);
  d.flush();
  assert.equal(host.syncs.length, 0);
  d.scopes.onSync(1, 7, [{ key: 'a', ...ts(1) }]);
  d.flush();
  assert.equal(host.syncs.length, 1);
  assert.deepEqual(host.take(), ['1 scope-ok']);
  write(host, d, 'a', 2);
  d.flush();
  assert.equal(host.syncs.length, 1, 'the request was for one flush');
});

test('a persist request is answered at once if persisted, after the next sync if dirty, never if not taken yet', () => {
  const { host, d } = setup('strict');
  write(host, d, 'a', 1);
  d.onPersistRequest(1, [
    { key: 'a', ...ts(1) },
    { key: 'b', ...ts(1) },
  ]);
  d.onPersistRequest(2, [{ key: 'a', ...ts(1) }]);
  d.notifyOnPersist('a', ts(2), 2); // not taken here yet
  d.notifyOnPersist('a', ts(1), 0); // itself: never a message
  d.flush();
  assert.deepEqual(host.take(), [], 'nothing persisted yet');
  d.tick();
  d.flush();
  assert.deepEqual(host.take().sort(), ['1 persisted a@1', '2 persisted a@1']);
  assert.equal(d.stats.persistAcksSent, 2);
  d.onPersistRequest(1, [{ key: 'a', ...ts(1) }]);
  d.flush();
  assert.deepEqual(host.take(), ['1 persisted a@1'], 'persisted already: answered in this flush');
  write(host, d, 'a', 2);
  d.notifyOnPersist('a', ts(2), 1);
  d.tick();
  d.flush();
  assert.deepEqual(host.take(), ['1 persisted a@2'], 'a waiter is answered once');
  d.tick();
  d.flush();
  assert.deepEqual(host.take(), []);
});

test('persisted and durable progress: a later ts counts, a dataset key is at its ts without a record', () => {
  const { host, d } = setup('strict');
  assert.equal(d.persistedAtLeast('ds1', DATASET_TS), false);
  d.loadedDataset((key) => key.startsWith('ds'));
  assert.equal(d.persistedAtLeast('ds1', DATASET_TS), true);
  assert.equal(d.isDurable('ds1', DATASET_TS), true);
  assert.equal(d.isDurable('ds1', { version: DATASET_TS.version + 1, cid: 0 }), false);
  assert.equal(d.isDurable('other', DATASET_TS), false);
  write(host, d, 'a', 3);
  assert.equal(d.persistedAtLeast('a', ts(3)), false);
  d.tick();
  assert.equal(d.persistedAtLeast('a', ts(2)), true);
  assert.equal(d.persistedAtLeast('a', ts(3)), true);
  assert.equal(d.persistedAtLeast('a', ts(4)), false);
  assert.equal(d.persistedAtLeast('a', DATASET_TS), true, 'a record of a non-dataset key');
});

test('DP: a DURABLE marks it without a broadcast; a tracker reaching DP broadcasts it to the other members', () => {
  const { host, d } = setup('strict');
  const rec = write(host, d, 'a', 1);
  d.onDurable([{ key: 'a', ...ts(1) }]);
  assert.equal(rec.durableTs, rec.ts, 'the record keeps its own ts object');
  assert.deepEqual(host.durables, [{ key: 'a', record: rec }]);
  d.onDurable([{ key: 'a', ...ts(1) }]);
  assert.equal(host.durables.length, 1, 'once');
  d.flush();
  assert.deepEqual(host.take(), []);
  const b = write(host, d, 'b', 1);
  d.tick(); // persisted here
  d.trackers.track('b', ts(1), new Set([1, 2]), true);
  assert.deepEqual(b.durableTs, ts(1));
  d.flush();
  assert.deepEqual(host.take(), ['1 durable b@1', '2 durable b@1']);
  assert.equal(d.stats.durableSent, 1);
  d.markDurable('b', ts(2), b);
  assert.deepEqual(b.durableTs, ts(2));
  d.flush();
  assert.deepEqual(host.take(), [], 'markDurable does not broadcast');
});

test('DP of a key not held yet is kept and taken over by its first record', () => {
  const { host, d } = setup('strict');
  d.onDurable([{ key: 'a', ...ts(2) }]);
  assert.deepEqual(host.durables, [{ key: 'a', record: undefined }]);
  assert.equal(d.isDurable('a', ts(2)), true);
  assert.equal(d.isDurable('a', ts(3)), false);
  const rec = write(host, d, 'a', 1);
  assert.deepEqual(rec.durableTs, ts(2));
  const other = write(host, d, 'b', 1);
  assert.equal(other.durableTs, undefined);
  const again = write(host, d, 'a', 3);
  assert.equal(again, rec, 'a key keeps its record object');
  assert.deepEqual(again.durableTs, ts(2), 'and its progress');
  assert.throws(
    () => d.held({ ...again, key: 'z' }, rec),
    /the record of a takes a write of its own key, not z/,
  );
});

test('held with persisted: the medium holds the ts already (a restart)', () => {
  const { d } = setup('strict');
  const record: KeyRecord = { key: 'a', ts: ts(1), value: 'v', state: 'valid', origin: 1, seq: 1 };
  const held = d.held(record, undefined, true);
  assert.equal(held.persistedTs, record.ts);
  assert.equal(held.dirty, false);
  const next: KeyRecord = { ...record, ts: ts(2), state: 'invalid', origin: 2, seq: 5, value: 'w' };
  d.held(next, held, true);
  assert.deepEqual(
    [held.ts, held.value, held.state, held.origin, held.seq, held.persistedTs],
    [ts(2), 'w', 'invalid', 2, 5, ts(2)],
  );
  d.held({ ...next, ts: ts(3) }, held);
  assert.deepEqual(held.persistedTs, ts(2), 'not persisted: unchanged');
});

test('the version vector covers learned writes after a sync and is written with the sync that follows a change', () => {
  const { host, d } = setup('strict');
  d.learned(1, 1);
  d.learned(1, 2);
  d.learned(2, 0); // no write number: nothing to cover
  assert.equal(d.versionVector.covers(1, 1), false);
  write(host, d, 'a', 1);
  d.tick();
  assert.equal(d.versionVector.covers(1, 2), true);
  const written = host.syncs[0];
  assert.ok(written !== undefined, 'the sync wrote the vector');
  assert.equal(VersionVector.decode(written).covers(1, 2), true);
  write(host, d, 'b', 1);
  d.tick();
  assert.equal(host.syncs[1], undefined, 'unchanged vector: not written again');
  // learned with nothing dirty: covered now, written by the next sync
  d.learned(3, 1);
  d.tick();
  assert.equal(host.syncs.length, 2);
  assert.equal(d.versionVector.covers(3, 1), true);
  write(host, d, 'c', 1);
  d.tick();
  assert.equal(VersionVector.decode(host.syncs[2] as Uint8Array).covers(3, 1), true);
});

test('the version vector is loaded from the medium; a bad one is an error naming the replica and medium', () => {
  const vv = new VersionVector();
  vv.add(4, 1);
  const { d } = setup('strict', vv.encode());
  assert.equal(d.versionVector.covers(4, 1), true);
  assert.throws(
    () => setup('strict', new Uint8Array([1, 2, 3])),
    /replica 0: the version vector on its test medium is invalid/,
  );
});

test('persist acks and DURABLEs go out in messages of at most MAX_PERSIST_ITEMS items', () => {
  const { host, d } = setup('strict');
  const n = MAX_PERSIST_ITEMS + 1;
  for (let i = 0; i < n; i++) write(host, d, `k${i}`, 1);
  d.tick();
  d.onPersistRequest(
    1,
    Array.from({ length: n }, (_, i) => ({ key: `k${i}`, ...ts(1) })),
  );
  for (let i = 0; i < n; i++) d.trackers.track(`k${i}`, ts(1), new Set([1, 2]), true);
  d.flush();
  const sizes = host.sent.map(
    ({ to, msg }) => `${to} ${msg.kind} ${'items' in msg ? msg.items.length : 0}`,
  );
  assert.deepEqual(sizes, [
    `1 persisted ${MAX_PERSIST_ITEMS}`,
    '1 persisted 1',
    `1 durable ${MAX_PERSIST_ITEMS}`,
    '1 durable 1',
    `2 durable ${MAX_PERSIST_ITEMS}`,
    '2 durable 1',
  ]);
  assert.equal(d.stats.durableSent, n);
});

test('a sync writes the version vector only when it changed: not at the first sync, not for a write number 0', () => {
  const { host, d } = setup('strict');
  d.learned(2, 0);
  write(host, d, 'a', 1);
  d.tick();
  assert.deepEqual(host.syncs, [undefined]);
});

test('at most MAX_LEARNED_WRITES writes learned between two syncs are added to the vector; the rest are not claimed', () => {
  const { host, d } = setup('strict');
  for (let seq = 1; seq <= MAX_LEARNED_WRITES + 1; seq++) d.learned(1, seq);
  write(host, d, 'a', 1);
  d.tick();
  assert.equal(d.versionVector.covers(1, MAX_LEARNED_WRITES), true);
  assert.equal(d.versionVector.covers(1, MAX_LEARNED_WRITES + 1), false);
  d.learned(1, MAX_LEARNED_WRITES + 1);
  d.tick();
  assert.equal(
    d.versionVector.covers(1, MAX_LEARNED_WRITES + 1),
    true,
    'room again after the sync',
  );
});

test('a write already at DP here is not tracked again', () => {
  const { host, d } = setup('strict');
  write(host, d, 'a', 1);
  d.onDurable([{ key: 'a', ...ts(1) }]);
  d.trackers.track('a', ts(1), new Set(), true);
  assert.equal(d.trackers.partiallyPersistedStats().dpTrackers, 0);
});

test('persist scopes run on the host clock: an unanswered scope-sync is sent again after retransmitMs', () => {
  const { host, d } = setup('scope');
  host.nowMs = 50;
  assert.equal(
    d.scopes.open({ kind: 'persist-scope', epoch: 0, sender: 9, reqId: 1, items: [] }),
    true,
  );
  assert.deepEqual(host.take(), ['1 scope-sync', '2 scope-sync']);
  host.nowMs = 50 + SIM_TIMING.retransmitMs - 1;
  d.tick();
  assert.deepEqual(host.take(), []);
  host.nowMs = 50 + SIM_TIMING.retransmitMs;
  d.tick();
  assert.deepEqual(host.take(), ['1 scope-sync', '2 scope-sync']);
});

test("a bad version vector error keeps the decoder's error as its cause", () => {
  assert.throws(
    () => setup('strict', new Uint8Array([1, 2, 3])),
    (err: Error) => err instanceof RangeError && err.cause instanceof Error,
  );
});

test('a record written twice before a sync is synced, and acked, once', () => {
  const { host, d } = setup('strict');
  const rec = write(host, d, 'a', 1);
  d.written(rec, false);
  d.tick();
  assert.deepEqual(host.acks, ['0:a@1']);
});

test('a persist waiter on a record that is neither persisted nor dirty breaks an invariant: it throws', () => {
  const { host, d } = setup('strict');
  const record: KeyRecord = { key: 'a', ts: ts(1), value: 'v', state: 'valid', origin: 1, seq: 1 };
  host.records.set('a', d.held(record, undefined)); // never written: not on the dirty list
  assert.throws(
    () => d.notifyOnPersist('a', ts(1), 1),
    /key a holds an unpersisted ts, so it is dirty/,
  );
});

test('at most MAX_DEFERRED_ACKS ACKs are held back', () => {
  const { host, d } = setup('synch');
  const rec = write(host, d, 'a', 1);
  for (let i = 0; i < MAX_DEFERRED_ACKS; i++) d.deferAck(1, rec, ts(1));
  assert.throws(
    () => d.deferAck(1, rec, ts(1)),
    new RegExp(`more than ${MAX_DEFERRED_ACKS} ACKs held back`),
  );
});

test('exactly MAX_PERSIST_ITEMS items go in one message', () => {
  const { host, d } = setup('strict');
  for (let i = 0; i < MAX_PERSIST_ITEMS; i++) write(host, d, `k${i}`, 1);
  d.tick();
  d.onPersistRequest(
    1,
    Array.from({ length: MAX_PERSIST_ITEMS }, (_, i) => ({ key: `k${i}`, ...ts(1) })),
  );
  d.flush();
  assert.deepEqual(
    host.take().map((m) => m.split(' ').slice(0, 2).join(' ')),
    ['1 persisted'],
  );
});

test('a persist ack of a sync does not start another sync inside it', () => {
  const { host, d } = setup('strict');
  write(host, d, 'a', 1);
  host.onAck = () => {
    write(host, d, 'b', 1);
    d.syncNow();
  };
  assert.throws(() => d.tick(), /a sync is not re-entered from its own persist acks/);
});

test('Synch: after a sync, a write that changed only a state waits for the next value change or ACK', () => {
  const { host, d } = setup('synch');
  write(host, d, 'a', 1);
  d.flush();
  assert.equal(host.syncs.length, 1);
  write(host, d, 'b', 1, false);
  d.flush();
  assert.equal(host.syncs.length, 1);
});

test('no persist ack to itself, and persist requests are not counted as persist acks', () => {
  const { host, d } = setup('strict');
  write(host, d, 'a', 1);
  d.tick();
  d.notifyOnPersist('a', ts(1), 0);
  d.flush();
  assert.deepEqual(host.take(), []);
  d.trackers.track('a', ts(1), new Set(), false);
  d.trackers.tick();
  d.flush();
  assert.deepEqual(host.take(), ['1 persist-request a@1', '2 persist-request a@1']);
  assert.equal(d.stats.persistAcksSent, 0);
});
