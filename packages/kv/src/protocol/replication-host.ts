import type { ActorId, ByteString } from '@heal/actors/core';
import type { KeyRecord } from '../storage/key-record.js';
import type { KvStorage } from '../storage/kv-storage.js';
import type { ClientRef, CoordinatorStats } from './coordinator.js';
import type { PersistencyModel } from './durability.js';
import type { KvMessage } from './messages.js';
import type { Ts } from './timestamp.js';
import type { Timing } from './timing.js';
import type { View } from './view.js';

/** What the data plane needs from the replica around it. */
export interface ReplicationHost {
  readonly self: ActorId;
  readonly timing: Timing;
  readonly storage: KvStorage;
  readonly model: PersistencyModel;
  view(): View;
  now(): number;
  send(to: ActorId, msg: KvMessage): void;
  /** The write completed with timestamp `ts`. */
  replyPut(ref: ClientRef, ts: Ts): void;
  replyGet(ref: ClientRef, value: ByteString | undefined): void;
  replyBusy(ref: ClientRef): void;
  /** The operation was not started here and never will be: the client should ask another replica. */
  replyNotServing(ref: ClientRef): void;
  /**
   * A record changed here (a value taken, validated, or installed by recovery); `previous` is
   * the key's ts before (the same ts for a state change).
   */
  applied(record: KeyRecord, previous: Ts | undefined): void;
  /** A write this replica coordinated became Valid. */
  committed(record: KeyRecord): void;
  /** Test-only fault injection: serve reads of keys that are not Valid. */
  readonly readWhileInvalid: boolean;
}

/** What the data plane counts. */
export interface ReplicationStats extends CoordinatorStats {
  invsTaken: number;
  readsServed: number;
  readsWaited: number;
  /** REnf: reads that waited for the DP of a Valid value. */
  readsWaitedDurable: number;
  /** Bytes of the values that get messages found here (served at once or after waiting). */
  getValueBytes: number;
}
