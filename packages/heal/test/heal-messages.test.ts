import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KvWire } from '@heal/kv/replica';
import {
  HEAL_MESSAGES,
  type HealAcceptMsg,
  type HealAssistMsg,
  type HealBatchAckMsg,
  type HealBatchMsg,
  type HealDoneMsg,
  type HealDoneOkMsg,
  type HealEndAckMsg,
  type HealEndMsg,
  type HealHandoffMsg,
  type HealJoinMsg,
  type HealKeysMsg,
  type HealKeysRequestMsg,
  type HealNodesMsg,
  type HealNodesRequestMsg,
  type HealRejectMsg,
} from '../src/heal-messages.js';
import { healReplicaModule } from '../src/heal-module.js';

const header = { epoch: 0x0102_0304, sender: 5 };

/** One message of every HEAL kind, every field set to a value other than its zero. */
const SAMPLES: readonly KvWire[] = [
  {
    kind: 'heal-handoff',
    ...header,
    failed: 3,
    items: [
      { key: 'a', version: 7, cid: 2, origin: 1, seq: 2 ** 40 },
      { key: 'clé', version: 2 ** 33, cid: 65535, origin: 4, seq: 9 },
    ],
  } satisfies HealHandoffMsg,
  {
    kind: 'heal-join',
    ...header,
    session: 0x0203_0001,
    incarnation: 4,
    root: '0123456789abcdef',
    kept: true,
    vv: [
      { origin: 1, from: 1, to: 10 },
      { origin: 3, from: 5, to: 2 ** 33 },
    ],
    mac: 'f'.repeat(64),
  } satisfies HealJoinMsg,
  {
    kind: 'heal-accept',
    ...header,
    session: 11,
    mode: 'descent',
    selected: 6,
  } satisfies HealAcceptMsg,
  { kind: 'heal-reject', ...header, session: 12, reason: 'stale digest' } satisfies HealRejectMsg,
  {
    kind: 'heal-nodes-request',
    ...header,
    session: 13,
    level: 2,
    indices: [0, 17, 4095],
  } satisfies HealNodesRequestMsg,
  {
    kind: 'heal-nodes',
    ...header,
    session: 14,
    level: 3,
    indices: [1, 2],
    hashes: ['0123456789abcdef', 'fedcba9876543210'],
  } satisfies HealNodesMsg,
  {
    kind: 'heal-keys-request',
    ...header,
    session: 15,
    attempt: 2,
    buckets: [9, 300],
  } satisfies HealKeysRequestMsg,
  {
    kind: 'heal-keys',
    ...header,
    session: 16,
    attempt: 3,
    part: 1,
    last: true,
    entries: [
      { key: 'k1', version: 8, cid: 1 },
      { key: 'k2', version: 2 ** 35, cid: 300 },
    ],
  } satisfies HealKeysMsg,
  {
    kind: 'heal-batch',
    ...header,
    session: 17,
    batch: 4,
    entries: [
      {
        key: 'b',
        version: 5,
        cid: 2,
        value: '\0\x01\xff',
        state: 'write',
        origin: 2,
        seq: 2 ** 36,
      },
      { key: 'c', version: 1, cid: 1, value: 'v', state: 'invalid', origin: 3, seq: 1 },
    ],
  } satisfies HealBatchMsg,
  { kind: 'heal-batch-ack', ...header, session: 18, batch: 5 } satisfies HealBatchAckMsg,
  {
    kind: 'heal-end',
    ...header,
    session: 19,
    mode: 'descent',
    batches: 7,
    sources: 3,
    vvSkipped: 12,
  } satisfies HealEndMsg,
  { kind: 'heal-done', ...header, session: 20 } satisfies HealDoneMsg,
  { kind: 'heal-done-ok', ...header, session: 21 } satisfies HealDoneOkMsg,
  {
    kind: 'heal-assist',
    ...header,
    session: 22,
    joiner: 6,
    incarnation: 2,
    sources: 2,
    chunk: 1,
    chunks: 3,
    keys: ['x', 'y'],
  } satisfies HealAssistMsg,
  { kind: 'heal-end-ack', ...header, session: 23 } satisfies HealEndAckMsg,
];

test('the samples cover every HEAL message kind', () => {
  assert.deepEqual(
    SAMPLES.map((msg) => msg.kind),
    HEAL_MESSAGES.map((def) => def.kind),
  );
});

test('every HEAL message kind round-trips through the replica codec with all its fields', () => {
  // The codec replica workers use: a field the schema lost would not reach the peer.
  const { codec } = healReplicaModule;
  for (const msg of SAMPLES) {
    const bytes = codec.encode(msg);
    assert.equal(bytes.byteLength, codec.sizeOf(msg), msg.kind);
    assert.deepEqual(codec.decode(bytes), msg, msg.kind);
  }
});
