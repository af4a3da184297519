import { defineMessage, fields as f, type MessageDef, type MessageOf } from '@heal/actors/core';
import { KEY_STATES } from '../storage/key-record.js';

/**
 * Messages of a cold start of the whole cluster (ARCHITECTURE.md §4, Cold start; membership.ts
 * and reconciliation.ts): every replica restarted, none is admitted, and replica
 * COLD_START_COORDINATOR forms a view of all of them; then they reconcile their records.
 */

/** A replica that is not admitted tells the coordinator its incarnation and the highest epoch it knows (persisted, installed or promised). */
export const ColdState = defineMessage(40, 'cold-state', {
  incarnation: f.u32(),
  lastEpoch: f.u32(),
});
/** The coordinator asks every replica to promise to install no view below `target`. */
export const ColdPrepare = defineMessage(41, 'cold-prepare', { target: f.u32() });
/** The promise, from a replica that is not admitted, under its incarnation. */
export const ColdPromise = defineMessage(42, 'cold-promise', {
  target: f.u32(),
  incarnation: f.u32(),
});

/** Records in one reconciliation batch, and about the bytes (keys and values) it carries. */
export const COLD_BATCH_MAX_ENTRIES = 256;
export const COLD_BATCH_MAX_BYTES = 64 << 10;
const entry = f.struct({
  key: f.string(),
  version: f.u53(),
  cid: f.u16(),
  value: f.byteString(),
  state: f.enumOf(...KEY_STATES),
  origin: f.u16(),
  seq: f.u53(),
});
/** Asks a member of the cold-start view `coldEpoch` for its records from position `from` on. */
export const ColdPull = defineMessage(43, 'cold-pull', { coldEpoch: f.u32(), from: f.u32() });
/** Records `from` up to `next` (exclusive) of the sender's; `last`: there are no more. */
export const ColdRecords = defineMessage(44, 'cold-records', {
  coldEpoch: f.u32(),
  from: f.u32(),
  next: f.u32(),
  last: f.bool(),
  entries: f.list(entry, COLD_BATCH_MAX_ENTRIES),
});

export const COLD_START_MESSAGES: readonly MessageDef[] = [
  ColdState,
  ColdPrepare,
  ColdPromise,
  ColdPull,
  ColdRecords,
];

export type ColdStateMsg = MessageOf<typeof ColdState>;
export type ColdPrepareMsg = MessageOf<typeof ColdPrepare>;
export type ColdPromiseMsg = MessageOf<typeof ColdPromise>;
export type ColdPullMsg = MessageOf<typeof ColdPull>;
export type ColdRecordsMsg = MessageOf<typeof ColdRecords>;
export type ColdMembershipMessage = ColdStateMsg | ColdPrepareMsg | ColdPromiseMsg;
export type ColdStartMessage = ColdMembershipMessage | ColdPullMsg | ColdRecordsMsg;

const COLD_KINDS = new Set(COLD_START_MESSAGES.map((d) => d.kind));

export function isColdStartMessage(msg: { kind: string }): msg is ColdStartMessage {
  return COLD_KINDS.has(msg.kind);
}
