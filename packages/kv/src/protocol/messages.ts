import { defineMessage, fields as f, type MessageDef, type MessageOf } from '@heal/actors/core';
import { COLD_START_MESSAGES } from './cold-start-messages.js';

/**
 * The replication protocol's messages (type codes 1..99; recovery strategies use 100 and up).
 * Every message carries the sender's epoch in its header.
 */
const ts = { version: f.u53(), cid: f.u16() };
const member = f.struct({ id: f.u16(), incarnation: f.u32() });
/** Most members a view may list. */
export const MAX_VIEW_MEMBERS = 64;
const members = f.list(member, MAX_VIEW_MEMBERS);

// Client requests and replies (epoch unused: 0).
/**
 * Most reads in one get or get-ok. A client sends the reads it issues to one replica in one
 * handler round as one get, and a replica answers a round's reads of one client in one get-ok:
 * reads are most of the messages, and each costs its receiver a decode and a dispatch whatever
 * it carries (bench kv, 6 replicas, reads only: a tenth of the messages, 8% less CPU per read).
 */
export const MAX_GET_ITEMS = 1024;
/**
 * A get-ok stops taking values once they reach this many bytes, and a get keys (counted at 3
 * bytes a UTF-16 unit, their UTF-8 bound): a batch stays far below a ring's largest record.
 */
export const GET_BATCH_BYTES = 64 << 10;
export const Get = defineMessage(1, 'get', {
  items: f.list(f.struct({ reqId: f.u53(), key: f.string() }), MAX_GET_ITEMS),
});
export const Put = defineMessage(2, 'put', {
  reqId: f.u53(),
  key: f.string(),
  value: f.byteString(),
});
export const GetOk = defineMessage(3, 'get-ok', {
  items: f.list(
    f.struct({ reqId: f.u53(), found: f.bool(), value: f.byteString() }),
    MAX_GET_ITEMS,
  ),
});
/** The completed write's ts, so a session can name it in `persistScope()`. */
export const PutOk = defineMessage(4, 'put-ok', { reqId: f.u53(), ...ts });
export const ClientError = defineMessage(5, 'client-error', {
  reqId: f.u53(),
  reason: f.enumOf('busy', 'not-serving'),
});
/** A ShadowReplica or joining node hands a client's write to a full replica, which answers the client. */
export const ForwardPut = defineMessage(6, 'forward-put', {
  client: f.u16(),
  reqId: f.u53(),
  key: f.string(),
  value: f.byteString(),
});

/** Most `(key, ts)` items in one persistence message; longer lists are split. */
export const MAX_PERSIST_ITEMS = 1024;
const keyTs = f.list(f.struct({ key: f.string(), ...ts }), MAX_PERSIST_ITEMS);
/** Scope model: a session's completed puts `(key, ts)`; answered when every member persisted them. */
export const PersistScope = defineMessage(7, 'persist-scope', { reqId: f.u53(), items: keyTs });
export const PersistScopeOk = defineMessage(8, 'persist-scope-ok', { reqId: f.u53() });

// Hermes data plane.
export const Inv = defineMessage(10, 'inv', {
  key: f.string(),
  ...ts,
  value: f.byteString(),
  origin: f.u16(),
  seq: f.u53(),
});
/** `persisted`: the sender durably holds this ts of the key or a later one (a persist ack). */
export const Ack = defineMessage(11, 'ack', { key: f.string(), ...ts, persisted: f.bool() });
/** `durable`: this ts is at DP too (Synch reaches DP with VP), so no DURABLE follows for it. */
export const Val = defineMessage(12, 'val', { key: f.string(), ...ts, durable: f.bool() });

// Durable progress (ARCHITECTURE.md §5, persistency models).
/** Persist acks: the sender durably holds each key at this ts or a later one. */
export const Persisted = defineMessage(13, 'persisted', { items: keyTs });
/** Each write reached DP: every member of the current view persisted it or a later ts. */
export const Durable = defineMessage(14, 'durable', { items: keyTs });
/** Asks for persist acks of these writes (retry after loss, new members, adopted writes). */
export const PersistRequest = defineMessage(15, 'persist-request', { items: keyTs });
/** Scope model: sync now, then answer `scope-ok` (ok: every item is persisted here). */
export const ScopeSync = defineMessage(16, 'scope-sync', { scopeId: f.u53(), items: keyTs });
export const ScopeOk = defineMessage(17, 'scope-ok', { scopeId: f.u53(), ok: f.bool() });

// Membership: liveness, leases, views.
/** `recovering`: the sender is a ShadowReplica (a proposer keeps it a shadow in the next view). */
export const Heartbeat = defineMessage(20, 'heartbeat', { recovering: f.bool() });
export const LeaseRequest = defineMessage(21, 'lease-request', { reqId: f.u32() });
export const LeaseGrant = defineMessage(22, 'lease-grant', { reqId: f.u32() });
export const ViewRequest = defineMessage(23, 'view-request', {});
/** The sender's installed view; its epoch is the header's. */
export const ViewInfo = defineMessage(24, 'view', {
  members,
  shadows: f.list(f.u16(), MAX_VIEW_MEMBERS),
});
export const JoinRequest = defineMessage(25, 'join-request', { incarnation: f.u32() });
// Single-decree Paxos per epoch among the members of view `target - 1`.
const ballot = { target: f.u32(), round: f.u32(), proposer: f.u16() };
export const Prepare = defineMessage(26, 'prepare', ballot);
export const Promise_ = defineMessage(27, 'promise', {
  ...ballot,
  hasAccepted: f.bool(),
  acceptedRound: f.u32(),
  acceptedProposer: f.u16(),
  members,
  shadows: f.list(f.u16(), MAX_VIEW_MEMBERS),
});
export const Accept = defineMessage(28, 'accept', {
  ...ballot,
  members,
  shadows: f.list(f.u16(), MAX_VIEW_MEMBERS),
});
/**
 * An acceptor's vote, to the proposer and to every member of the value, who learn the view
 * from `quorum` (a majority of the acceptor's view) votes for the same ballot.
 */
export const Accepted = defineMessage(29, 'accepted', {
  ...ballot,
  members,
  shadows: f.list(f.u16(), MAX_VIEW_MEMBERS),
  quorum: f.u16(),
});
export const Nack = defineMessage(30, 'nack', {
  ...ballot,
  promisedRound: f.u32(),
  promisedProposer: f.u16(),
});

export const KV_MESSAGES: readonly MessageDef[] = [
  Get,
  Put,
  GetOk,
  PutOk,
  ClientError,
  ForwardPut,
  PersistScope,
  PersistScopeOk,
  Inv,
  Ack,
  Val,
  Persisted,
  Durable,
  PersistRequest,
  ScopeSync,
  ScopeOk,
  Heartbeat,
  LeaseRequest,
  LeaseGrant,
  ViewRequest,
  ViewInfo,
  JoinRequest,
  Prepare,
  Promise_,
  Accept,
  Accepted,
  Nack,
  ...COLD_START_MESSAGES,
];

export type GetMsg = MessageOf<typeof Get>;
export type PutMsg = MessageOf<typeof Put>;
export type GetOkMsg = MessageOf<typeof GetOk>;
/** One read of a get, and its answer in a get-ok. */
export type GetItem = GetMsg['items'][number];
export type GetOkItem = GetOkMsg['items'][number];
export type PutOkMsg = MessageOf<typeof PutOk>;
export type ClientErrorMsg = MessageOf<typeof ClientError>;
export type ForwardPutMsg = MessageOf<typeof ForwardPut>;
export type InvMsg = MessageOf<typeof Inv>;
export type AckMsg = MessageOf<typeof Ack>;
export type ValMsg = MessageOf<typeof Val>;
export type PersistScopeMsg = MessageOf<typeof PersistScope>;
export type PersistScopeOkMsg = MessageOf<typeof PersistScopeOk>;
export type PersistedMsg = MessageOf<typeof Persisted>;
export type DurableMsg = MessageOf<typeof Durable>;
export type PersistRequestMsg = MessageOf<typeof PersistRequest>;
export type ScopeSyncMsg = MessageOf<typeof ScopeSync>;
export type ScopeOkMsg = MessageOf<typeof ScopeOk>;
/** One `(key, ts)` item of the persistence messages. */
export type KeyTs = PersistedMsg['items'][number];
export type HeartbeatMsg = MessageOf<typeof Heartbeat>;
export type LeaseRequestMsg = MessageOf<typeof LeaseRequest>;
export type LeaseGrantMsg = MessageOf<typeof LeaseGrant>;
export type ViewRequestMsg = MessageOf<typeof ViewRequest>;
export type ViewInfoMsg = MessageOf<typeof ViewInfo>;
export type JoinRequestMsg = MessageOf<typeof JoinRequest>;
export type PrepareMsg = MessageOf<typeof Prepare>;
export type PromiseMsg = MessageOf<typeof Promise_>;
export type AcceptMsg = MessageOf<typeof Accept>;
export type AcceptedMsg = MessageOf<typeof Accepted>;
export type NackMsg = MessageOf<typeof Nack>;

export type ClientRequest = GetMsg | PutMsg | PersistScopeMsg;
export type ClientReply = GetOkMsg | PutOkMsg | ClientErrorMsg | PersistScopeOkMsg;
export type DataMessage = InvMsg | AckMsg | ValMsg;
export type PersistMessage =
  PersistedMsg | DurableMsg | PersistRequestMsg | ScopeSyncMsg | ScopeOkMsg;
export type MembershipMessage =
  | HeartbeatMsg
  | LeaseRequestMsg
  | LeaseGrantMsg
  | ViewRequestMsg
  | ViewInfoMsg
  | JoinRequestMsg
  | PrepareMsg
  | PromiseMsg
  | AcceptMsg
  | AcceptedMsg
  | NackMsg;

/** A message of a recovery strategy: any kind outside the replication protocol's. */
export interface StrategyMessage {
  kind: string;
  epoch: number;
  sender: number;
  [field: string]: unknown;
}

export type KvMessage =
  ClientRequest | ClientReply | ForwardPutMsg | DataMessage | PersistMessage | MembershipMessage;

/**
 * Messages only an admitted replica sends: they show that the incarnation a view holds is
 * alive. A restarted replica's join requests, view requests and recovery messages do not (its
 * old incarnation must be suspected), and its recovery messages move no heartbeat.
 */
export const LIVENESS_KINDS: ReadonlySet<string> = new Set([
  'heartbeat',
  'inv',
  'ack',
  'val',
  'persisted',
  'durable',
  'persist-request',
  'scope-sync',
  'scope-ok',
  'lease-request',
  'lease-grant',
  'prepare',
  'promise',
  'accept',
  'accepted',
  'nack',
  'forward-put',
]);
