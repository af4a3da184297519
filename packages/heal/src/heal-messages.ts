import { defineMessage, fields as f, type MessageOf } from '@heal/actors/core';
import { KEY_STATES, VV_INTERVALS_PER_ORIGIN_MAX, VV_ORIGINS_MAX } from '@heal/kv/replica';
import { DESCENT_NODES_MAX } from './digest/merkle-descent.js';

/** HEAL's own messages (type codes 110-129); every one carries the sender's epoch. */
export const HEAL_BATCH_MAX_ENTRIES = 256;
export const HEAL_BATCH_MAX_BYTES = 64 << 10;
export const HEAL_HANDOFF_MAX_ITEMS = 1024;
export const HEAL_KEYS_MAX_ENTRIES = 2048;
/** Version vector intervals a digest carries at most (what a VersionVector holds). */
export const HEAL_VV_MAX_INTERVALS = VV_ORIGINS_MAX * VV_INTERVALS_PER_ORIGIN_MAX;

const keyTs = f.struct({
  key: f.string(),
  version: f.u53(),
  cid: f.u16(),
  origin: f.u16(),
  seq: f.u53(),
});
const entry = f.struct({
  key: f.string(),
  version: f.u53(),
  cid: f.u16(),
  value: f.byteString(),
  state: f.enumOf(...KEY_STATES),
  origin: f.u16(),
  seq: f.u53(),
});

/** To the Buddy of `failed`: writes this replica holds that were not at DP when `failed` left. */
export const HealHandoff = defineMessage(110, 'heal-handoff', {
  failed: f.u16(),
  items: f.list(keyTs, HEAL_HANDOFF_MAX_ITEMS),
});
/**
 * The admitted ShadowReplica's digest, to its Buddy: its Merkle root, whether its medium kept
 * records, and its version vector, all under the MAC (empty when the cluster has no key).
 */
export const HealJoin = defineMessage(111, 'heal-join', {
  session: f.u32(),
  incarnation: f.u32(),
  root: f.string(),
  kept: f.bool(),
  vv: f.list(f.struct({ origin: f.u16(), from: f.u53(), to: f.u53() }), HEAL_VV_MAX_INTERVALS),
  mac: f.string(),
});
export const HealAccept = defineMessage(112, 'heal-accept', {
  session: f.u32(),
  mode: f.enumOf('buffer', 'descent'),
  selected: f.u32(),
});
export const HealReject = defineMessage(113, 'heal-reject', {
  session: f.u32(),
  reason: f.string(),
});
export const HealNodesRequest = defineMessage(114, 'heal-nodes-request', {
  session: f.u32(),
  level: f.u8(),
  indices: f.list(f.u32(), DESCENT_NODES_MAX),
});
export const HealNodes = defineMessage(115, 'heal-nodes', {
  session: f.u32(),
  level: f.u8(),
  indices: f.list(f.u32(), DESCENT_NODES_MAX),
  hashes: f.list(f.string(), DESCENT_NODES_MAX),
});
/** `attempt` numbers the request: a lost part makes the Buddy ask again, and parts of older attempts are dropped. */
export const HealKeysRequest = defineMessage(116, 'heal-keys-request', {
  session: f.u32(),
  attempt: f.u32(),
  buckets: f.list(f.u32(), DESCENT_NODES_MAX),
});
export const HealKeys = defineMessage(117, 'heal-keys', {
  session: f.u32(),
  attempt: f.u32(),
  part: f.u32(),
  last: f.bool(),
  entries: f.list(
    f.struct({ key: f.string(), version: f.u53(), cid: f.u16() }),
    HEAL_KEYS_MAX_ENTRIES,
  ),
});
export const HealBatch = defineMessage(118, 'heal-batch', {
  session: f.u32(),
  batch: f.u32(),
  entries: f.list(entry, HEAL_BATCH_MAX_ENTRIES),
});
export const HealBatchAck = defineMessage(119, 'heal-batch-ack', {
  session: f.u32(),
  batch: f.u32(),
});
/**
 * The end of one source's stream: `sources` streams in all (the Buddy's and its helpers');
 * `vvSkipped`: buffer entries the joiner's version vector let the Buddy skip (0 from helpers).
 */
export const HealEnd = defineMessage(120, 'heal-end', {
  session: f.u32(),
  mode: f.enumOf('buffer', 'descent'),
  batches: f.u32(),
  sources: f.u8(),
  vvSkipped: f.u32(),
});
/** Consistency reinforcement: the ShadowReplica holds every batch; the Buddy confirms. */
export const HealDone = defineMessage(121, 'heal-done', { session: f.u32() });
export const HealDoneOk = defineMessage(122, 'heal-done-ok', { session: f.u32() });
/**
 * From the Buddy to another full member: stream these keys (found by Merkle descent) to the
 * joiner too, in parallel; sent in chunks, `chunks` in all.
 */
export const HealAssist = defineMessage(123, 'heal-assist', {
  session: f.u32(),
  joiner: f.u16(),
  incarnation: f.u32(),
  sources: f.u8(),
  chunk: f.u32(),
  chunks: f.u32(),
  keys: f.list(f.string(), HEAL_KEYS_MAX_ENTRIES),
});

/** The joiner holds a helper's whole stream: the helper forgets the session. */
export const HealEndAck = defineMessage(124, 'heal-end-ack', { session: f.u32() });

export const HEAL_MESSAGES = [
  HealHandoff,
  HealJoin,
  HealAccept,
  HealReject,
  HealNodesRequest,
  HealNodes,
  HealKeysRequest,
  HealKeys,
  HealBatch,
  HealBatchAck,
  HealEnd,
  HealDone,
  HealDoneOk,
  HealAssist,
  HealEndAck,
] as const;

export type HealHandoffMsg = MessageOf<typeof HealHandoff>;
export type HealJoinMsg = MessageOf<typeof HealJoin>;
export type HealAcceptMsg = MessageOf<typeof HealAccept>;
export type HealRejectMsg = MessageOf<typeof HealReject>;
export type HealNodesRequestMsg = MessageOf<typeof HealNodesRequest>;
export type HealNodesMsg = MessageOf<typeof HealNodes>;
export type HealKeysRequestMsg = MessageOf<typeof HealKeysRequest>;
export type HealKeysMsg = MessageOf<typeof HealKeys>;
export type HealBatchMsg = MessageOf<typeof HealBatch>;
export type HealBatchAckMsg = MessageOf<typeof HealBatchAck>;
export type HealEndMsg = MessageOf<typeof HealEnd>;
export type HealDoneMsg = MessageOf<typeof HealDone>;
export type HealDoneOkMsg = MessageOf<typeof HealDoneOk>;
export type HealAssistMsg = MessageOf<typeof HealAssist>;
export type HealEndAckMsg = MessageOf<typeof HealEndAck>;
export type HealEntry = HealBatchMsg['entries'][number];
