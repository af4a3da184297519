import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordWireBytes, type KeyRecord, type RecoveryContext } from '@heal/kv/replica';
import {
  HEAL_BATCH_MAX_BYTES,
  HEAL_BATCH_MAX_ENTRIES,
  type HealEntry,
} from '../src/heal-messages.js';
import { HEAL_WINDOW_BATCHES, SelectionStream } from '../src/heal-stream.js';

/** Unit tests of a source's stream of selected keys to a joiner (ARCHITECTURE.md §6, HEAL step 7). */

const JOINER = 4;
const SESSION = 9;

function setup(keys: string[], held: KeyRecord[]) {
  const records = new Map(held.map((r) => [r.key, r]));
  const batches: { batch: number; keys: string[] }[] = [];
  const ends: number[] = [];
  const ctx = {
    records: () => records,
    send: (
      to: number,
      msg: { kind: string; session: number; batch: number; entries: HealEntry[] },
    ) => {
      assert.deepEqual([to, msg.kind, msg.session], [JOINER, 'heal-batch', SESSION]);
      batches.push({ batch: msg.batch, keys: msg.entries.map((e) => e.key) });
    },
  } as unknown as RecoveryContext;
  const stats = { entriesStreamed: 0 };
  const stream = new SelectionStream(
    keys,
    JOINER,
    SESSION,
    (_ctx, count) => ends.push(count),
    stats,
  );
  return { ctx, stream, batches, ends, stats, records };
}
const record = (key: string, valueBytes = 1): KeyRecord => ({
  key,
  ts: { version: 2, cid: 1 },
  value: 'x'.repeat(valueBytes),
  state: 'valid',
  origin: 1,
  seq: 7,
});

test("a stream sends its keys' current records in batches of at most HEAL_BATCH_MAX_ENTRIES, then the end with the batch count", () => {
  const n = 2 * HEAL_BATCH_MAX_ENTRIES + 1;
  const keys = Array.from({ length: n }, (_, i) => `k${i}`);
  const { ctx, stream, batches, ends, stats } = setup(
    keys,
    keys.map((k) => record(k)),
  );
  assert.equal(stream.acked, true, 'nothing sent: nothing owed');
  stream.pump(ctx);
  assert.deepEqual(
    batches.map((b) => [b.batch, b.keys.length]),
    [
      [0, HEAL_BATCH_MAX_ENTRIES],
      [1, HEAL_BATCH_MAX_ENTRIES],
      [2, 1],
    ],
  );
  assert.deepEqual(
    batches.flatMap((b) => b.keys),
    keys,
    'every key once, in order',
  );
  assert.deepEqual(ends, [3]);
  assert.equal(stream.ended, true);
  assert.equal(stats.entriesStreamed, n);
  assert.equal(stream.acked, false);
  stream.pump(ctx);
  assert.deepEqual(ends, [3], 'the end once');
  stream.onAck(ctx, 2);
  stream.onAck(ctx, 0);
  assert.equal(stream.acked, false);
  stream.onAck(ctx, 1);
  assert.equal(stream.acked, true);
});

test('a batch ends at HEAL_BATCH_MAX_BYTES; a key gone meanwhile is skipped; the entry is the record as held', () => {
  const big = Math.ceil(HEAL_BATCH_MAX_BYTES / 2);
  const keys = ['a', 'gone', 'b', 'c'];
  const { ctx, stream, batches, stats, records } = setup(keys, [
    record('a', big),
    record('b', big),
    record('c', 1),
  ]);
  const entries: HealEntry[] = [];
  const send = ctx.send.bind(ctx);
  (ctx as { send: unknown }).send = (to: number, msg: { entries: HealEntry[] }) => {
    entries.push(...msg.entries);
    send(to, msg as never);
  };
  stream.pump(ctx);
  assert.ok(recordWireBytes(record('a', big)) * 2 > HEAL_BATCH_MAX_BYTES);
  assert.deepEqual(
    batches.map((b) => b.keys),
    [['a', 'b'], ['c']],
    'the batch that passes the bound ends with that entry',
  );
  assert.equal(stats.entriesStreamed, 3);
  const c = records.get('c') as KeyRecord;
  assert.deepEqual(entries[2], {
    key: 'c',
    version: c.ts.version,
    cid: c.ts.cid,
    value: c.value,
    state: c.state,
    origin: c.origin,
    seq: c.seq,
  });
});

test('at most HEAL_WINDOW_BATCHES batches are unacknowledged; acks in order open the window', () => {
  const n = (HEAL_WINDOW_BATCHES + 2) * HEAL_BATCH_MAX_ENTRIES;
  const keys = Array.from({ length: n }, (_, i) => `k${i}`);
  const { ctx, stream, batches, ends } = setup(
    keys,
    keys.map((k) => record(k)),
  );
  stream.pump(ctx);
  assert.equal(batches.length, HEAL_WINDOW_BATCHES);
  assert.deepEqual(ends, []);
  stream.onAck(ctx, 1);
  assert.equal(batches.length, HEAL_WINDOW_BATCHES, 'batch 0 is still owed');
  stream.onAck(ctx, 0);
  assert.equal(batches.length, HEAL_WINDOW_BATCHES + 2);
  assert.deepEqual(ends, [HEAL_WINDOW_BATCHES + 2]);
});

test('resend sends every unacknowledged batch again, with the same keys, and the end once it was sent', () => {
  const n = 3 * HEAL_BATCH_MAX_ENTRIES;
  const keys = Array.from({ length: n }, (_, i) => `k${i}`);
  const { ctx, stream, batches, ends } = setup(
    keys,
    keys.map((k) => record(k)),
  );
  stream.pump(ctx);
  const first = batches.splice(0);
  stream.onAck(ctx, 1);
  stream.resend(ctx);
  assert.deepEqual(
    batches.map((b) => b.batch),
    [0, 2],
  );
  assert.deepEqual(batches[0]?.keys, first[0]?.keys);
  assert.deepEqual(batches[1]?.keys, first[2]?.keys);
  assert.deepEqual(ends, [3, 3]);
  stream.onAck(ctx, 0);
  batches.length = 0;
  stream.resend(ctx);
  assert.deepEqual(
    batches.map((b) => b.batch),
    [2],
  );

  const window = HEAL_WINDOW_BATCHES;
  const many = Array.from({ length: (window + 1) * HEAL_BATCH_MAX_ENTRIES }, (_, i) => `k${i}`);
  const s2 = setup(
    many,
    many.map((k) => record(k)),
  );
  s2.stream.pump(s2.ctx);
  s2.batches.length = 0;
  s2.stream.resend(s2.ctx);
  assert.equal(s2.batches.length, window);
  assert.deepEqual(s2.ends, [], 'no end before every key is in a batch');
});

test('an empty selection ends at once with no batch', () => {
  const { ctx, stream, batches, ends } = setup([], []);
  stream.pump(ctx);
  assert.deepEqual([batches.length, ends], [0, [0]]);
  assert.equal(stream.acked, true);
});

test('a batch whose entries reach exactly HEAL_BATCH_MAX_BYTES ends there', () => {
  const valueBytes = HEAL_BATCH_MAX_BYTES / 2 - recordWireBytes(record('a', 0));
  const { ctx, stream, batches } = setup(
    ['a', 'b', 'c'],
    [record('a', valueBytes), record('b', valueBytes), record('c', 1)],
  );
  assert.equal(recordWireBytes(record('a', valueBytes)) * 2, HEAL_BATCH_MAX_BYTES);
  stream.pump(ctx);
  assert.deepEqual(
    batches.map((b) => b.keys),
    [['a', 'b'], ['c']],
  );
});
