import {
  defineMessage,
  fields as f,
  type ActorId,
  type ByteString,
  type MessageDef,
} from '@heal/actors/core';
import type { Timing } from '../protocol/timing.js';
import { KEY_STATES, type KeyRecord } from '../storage/key-record.js';

/**
 * A catch-up: a recovering replica that holds back its join while a source replica streams it
 * records in numbered batches, a few in flight, each acknowledged cumulatively, then a final
 * marker. What every strategy built on it shares (kv's full-copy, heal's leader-incremental):
 * the wire shapes, bounds and timeouts.
 */

/** Records in one batch, and about how many bytes (a single larger record goes alone). */
export const BATCH_MAX_ENTRIES = 256;
export const BATCH_MAX_BYTES = 64 << 10;
/** Unacknowledged batches per session; the receiver holds at most this many out of order. */
export const WINDOW_BATCHES = 4;
/** A session silent for this many retransmit periods is given up (its peer crashed or left). */
export const STALL_RETRANSMITS = 4;
/** Sessions one source serves at once (one per recovering replica; a view has at most 64). */
export const MAX_SOURCE_SESSIONS = 64;
/** A reject's `hint` when the rejecting replica knows no better source. */
export const NO_HINT = 0xffff;

/**
 * What a batch carries: `base` the source's store (copy or snapshot); `catch-up` what the
 * source took since the base started; `synced` ends the catch-up (the receiver may join);
 * `forward` what the source takes until its view admits the receiver; `final` ends the stream.
 */
export const BATCH_MARKS = ['base', 'catch-up', 'synced', 'forward', 'final'] as const;
export type BatchMark = (typeof BATCH_MARKS)[number];
export const SYNC_MODES = ['copy', 'snap', 'diff'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];
/**
 * `not-source`: not a full member (or not the keeper); `member`: the receiver's previous
 * incarnation is still in the source's view; `overflow`: the buffer bound was hit; `busy`:
 * too many sessions.
 */
export const REJECT_REASONS = ['not-source', 'member', 'overflow', 'busy'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

const entryField = f.struct({
  key: f.string(),
  version: f.u53(),
  cid: f.u16(),
  value: f.byteString(),
  state: f.enumOf(...KEY_STATES),
  origin: f.u16(),
  seq: f.u53(),
});
const sessionFields = { incarnation: f.u32(), session: f.u32() };

/** A record on the wire: its state at the source travels with it (not Valid there: installed Invalid). */
export interface WireEntry {
  key: string;
  version: number;
  cid: number;
  value: ByteString;
  state: KeyRecord['state'];
  origin: number;
  seq: number;
}

/** The message kinds of one catch-up strategy. */
export interface CatchUpKinds {
  readonly request: string;
  readonly batch: string;
  readonly ack: string;
  readonly reject: string;
  readonly admitted: string;
}

interface SessionMsg {
  kind: string;
  epoch: number;
  sender: ActorId;
  incarnation: number;
  session: number;
}
export interface CatchUpRequestMsg extends SessionMsg {
  [field: string]: unknown;
}
export interface CatchUpBatchMsg extends SessionMsg {
  batch: number;
  mode: SyncMode;
  mark: BatchMark;
  entries: WireEntry[];
}
export interface CatchUpAckMsg extends SessionMsg {
  /** The receiver holds every batch below this number. */
  next: number;
}
export interface CatchUpRejectMsg extends SessionMsg {
  reason: RejectReason;
  hint: number;
}

/** A catch-up strategy's message kinds and definitions. */
export interface CatchUpMessages {
  readonly kinds: CatchUpKinds;
  readonly messages: readonly MessageDef[];
}

/**
 * The five messages of a catch-up strategy, type codes `firstType`..`firstType + 4`: the
 * receiver's request (with the strategy's extra fields), batches, cumulative acks, rejects,
 * and the receiver's note that it was admitted.
 */
export function catchUpMessages(
  firstType: number,
  prefix: string,
  requestFields: f.FieldMap,
): CatchUpMessages {
  const kinds: CatchUpKinds = {
    request: `${prefix}-request`,
    batch: `${prefix}-batch`,
    ack: `${prefix}-ack`,
    reject: `${prefix}-reject`,
    admitted: `${prefix}-admitted`,
  };
  const messages: MessageDef[] = [
    defineMessage(firstType, kinds.request, { ...sessionFields, ...requestFields }),
    defineMessage(firstType + 1, kinds.batch, {
      ...sessionFields,
      batch: f.u32(),
      mode: f.enumOf(...SYNC_MODES),
      mark: f.enumOf(...BATCH_MARKS),
      entries: f.list(entryField, BATCH_MAX_ENTRIES),
    }),
    defineMessage(firstType + 2, kinds.ack, { ...sessionFields, next: f.u32() }),
    defineMessage(firstType + 3, kinds.reject, {
      ...sessionFields,
      reason: f.enumOf(...REJECT_REASONS),
      hint: f.u16(),
    }),
    defineMessage(firstType + 4, kinds.admitted, sessionFields),
  ];
  return { kinds, messages };
}

export function toEntry(record: KeyRecord): WireEntry {
  return {
    key: record.key,
    version: record.ts.version,
    cid: record.ts.cid,
    value: record.value,
    state: record.state,
    origin: record.origin,
    seq: record.seq,
  };
}

export function toRecord(e: WireEntry): KeyRecord {
  return {
    key: e.key,
    ts: { version: e.version, cid: e.cid },
    value: e.value,
    state: e.state,
    origin: e.origin,
    seq: e.seq,
  };
}

/** How long a session may go without a word from its peer before it is given up. */
export function stallMs(timing: Timing): number {
  return STALL_RETRANSMITS * timing.retransmitMs;
}

/**
 * How long a restarted replica stays silent after a source said its previous incarnation is
 * still a member: long enough for the others to suspect it, wait out its lease and decide a
 * view without it (any message it sends would make its recipient hear it, not suspect it).
 */
export function memberBackoffMs(timing: Timing): number {
  return timing.suspicionMs + timing.leaseMs + timing.driftMs + timing.proposalTimeoutMs;
}
