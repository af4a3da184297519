import assert from 'node:assert/strict';
import type { ActorId, ByteString } from '@heal/actors/core';
import { AdaptiveTimeout } from './adaptive-timeout.js';
import type { Durability, HeldRecord, PersistencyModel } from './durability.js';
import type { AckMsg, InvMsg, KvMessage, ValMsg } from './messages.js';
import { compareTs, tsEquals, type Ts } from './timestamp.js';
import type { Timing } from './timing.js';
import { isMember, type View } from './view.js';

/** A write's INVs are sent again after the retransmit timeout, then twice that, ... up to 2^this times it. */
export const MAX_RETRANSMIT_DOUBLINGS = 3;

export interface ClientRef {
  client: ActorId;
  reqId: number;
}

/** A write this replica coordinates (its own, or a replay), waiting for ACKs. */
interface PendingWrite {
  readonly key: string;
  /** The key's record here (a key keeps one record object: see Durability.held). */
  readonly record: HeldRecord;
  readonly ts: Ts;
  readonly value: ByteString;
  readonly origin: ActorId;
  readonly seq: number;
  /** Cleared when this replica was removed from the view meanwhile (see viewInstalled). */
  client: ClientRef | undefined;
  readonly acks: Set<ActorId>;
  /** Members whose medium holds ts (or a later ts of the key): persist acks. */
  readonly persisted: Set<ActorId>;
  /** When the INVs went out first, and how often they were sent again since. */
  readonly startedMs: number;
  sentMs: number;
  retransmits: number;
}

export interface CoordinatorStats {
  writesStarted: number;
  writesCompleted: number;
  supersededCompleted: number;
  replaysStarted: number;
  replaysCompleted: number;
  retransmits: number;
}

export interface CoordinatorHost {
  readonly self: ActorId;
  readonly model: PersistencyModel;
  readonly timing: Timing;
  readonly durability: Durability;
  /** Counters shared with the data plane around it. */
  readonly stats: CoordinatorStats;
  view(): View;
  now(): number;
  send(to: ActorId, msg: KvMessage): void;
  /** The client's write completed with timestamp `ts`. */
  replyPut(ref: ClientRef, ts: Ts): void;
  /** A write this replica coordinated became Valid. */
  committed(record: HeldRecord): void;
  /** Makes the key Valid here (and stores it). */
  validate(record: HeldRecord): void;
  /** `key` may be Valid now: reads and writes waiting on it go on. */
  drainWaiting(key: string, record: HeldRecord): void;
}

/**
 * The coordinator side of the Hermes data plane (ARCHITECTURE.md §3): this replica's own writes
 * (at most one per key) and its replays, each sent as INV to every member of the current view
 * and complete at ACKs from every other member (Synch: and persisted by every member: DP = VP).
 * A completed write whose ts is still the key's makes the key Valid and sends VAL; one
 * superseded meanwhile completes its client without a VAL. INVs are resent with a back-off, and
 * again to all members, with the ACKs dropped, in every new view.
 *
 * Owned by the replica's thread (part of Replication).
 */
export class Coordinator {
  readonly #writes = new Map<string, PendingWrite>();
  readonly #replays = new Map<string, PendingWrite>();
  /** INVs to all ACKs of this replica's writes (the retransmit timeout follows it). */
  readonly #ackLatency = new AdaptiveTimeout();

  constructor(readonly host: CoordinatorHost) {}

  get pending(): number {
    return this.#writes.size + this.#replays.size;
  }

  hasOwnWrite(key: string): boolean {
    return this.#writes.has(key);
  }

  retransmitAfterMs(): number {
    return this.#ackLatency.timeoutMs(this.host.timing.retransmitMs);
  }

  /** Starts the client's write that `record` now holds (in state Write, stored). */
  startWrite(record: HeldRecord, client: ClientRef | undefined): void {
    assert(
      record.state === 'write' && !this.#writes.has(record.key),
      `one own write of ${record.key} at a time, in state Write`,
    );
    const write = this.#pending(record, client);
    this.#writes.set(record.key, write);
    this.host.stats.writesStarted++;
    this.#sendInv(write);
    this.#checkComplete(write);
  }

  /** Re-coordinates `record`'s write (in state Replay, stored) with the same ts, value, origin and seq. */
  startReplay(record: HeldRecord): void {
    assert(
      record.state === 'replay' && !this.#replays.has(record.key),
      `one replay of ${record.key} at a time, in state Replay`,
    );
    const pending = this.#pending(record, undefined);
    this.#replays.set(record.key, pending);
    this.host.stats.replaysStarted++;
    this.#sendInv(pending);
    this.#checkComplete(pending);
  }

  #pending(record: HeldRecord, client: ClientRef | undefined): PendingWrite {
    const now = this.host.now();
    return {
      key: record.key,
      record,
      ts: record.ts,
      value: record.value,
      origin: record.origin,
      seq: record.seq,
      client,
      acks: new Set(),
      persisted: new Set(),
      startedMs: now,
      sentMs: now,
      retransmits: 0,
    };
  }

  isReplaying(key: string): boolean {
    return this.#replays.size > 0 && this.#replays.has(key);
  }

  /** The key took a newer value (or a recovery installed one): its replay is moot. */
  dropReplay(key: string): void {
    if (this.#replays.size > 0) this.#replays.delete(key);
  }

  #sendInv(write: PendingWrite, onlyMissing = false): void {
    write.sentMs = this.host.now();
    const view = this.host.view();
    // One message object for every member: runtimes encode it and never mutate it.
    const inv: InvMsg = {
      kind: 'inv',
      epoch: view.epoch,
      sender: this.host.self,
      key: write.key,
      version: write.ts.version,
      cid: write.ts.cid,
      value: write.value,
      origin: write.origin,
      seq: write.seq,
    };
    for (const m of view.members) {
      if (m.id === this.host.self || (onlyMissing && write.acks.has(m.id))) continue;
      this.host.send(m.id, inv);
    }
  }

  onAck(msg: AckMsg): void {
    if (!isMember(this.host.view(), msg.sender)) return;
    this.#acked(this.#writes.get(msg.key), msg);
    this.#acked(this.#replays.get(msg.key), msg);
  }

  #acked(pending: PendingWrite | undefined, msg: AckMsg): void {
    if (!pending || pending.ts.version !== msg.version || pending.ts.cid !== msg.cid) return;
    pending.acks.add(msg.sender);
    if (msg.persisted) pending.persisted.add(msg.sender);
    this.#checkComplete(pending);
  }

  /** `from` durably holds `key` at `ts` or later. */
  persistAck(from: ActorId, key: string, ts: Ts): void {
    if (this.#writes.size > 0) this.#persistAcked(this.#writes.get(key), from, ts);
    if (this.#replays.size > 0) this.#persistAcked(this.#replays.get(key), from, ts);
  }

  #persistAcked(pending: PendingWrite | undefined, from: ActorId, ts: Ts): void {
    if (!pending || compareTs(pending.ts, ts) > 0) return;
    pending.persisted.add(from);
    if (this.host.model === 'synch') this.#checkComplete(pending);
  }

  /** A VAL of `ts` for `key` (a replayer finished it): this replica's own write of that ts completes its client. */
  validated(key: string, ts: Ts): void {
    const own = this.#writes.get(key);
    if (own && tsEquals(own.ts, ts)) this.#finishWrite(own);
    this.dropReplay(key);
  }

  /**
   * Complete once every other member of the current view acknowledged this ts (Synch: and
   * every member, this one included, persisted it: DP = VP).
   */
  #checkComplete(pending: PendingWrite): void {
    // Most calls come before the last ACK (acks holds current members other than this one only).
    if (pending.acks.size < this.host.view().members.length - 1) return;
    const { durability, self } = this.host;
    const synch = this.host.model === 'synch';
    const { record } = pending;
    if (synch && durability.persistedAtLeast(pending.key, pending.ts, record))
      pending.persisted.add(self);
    for (const m of this.host.view().members) {
      if (m.id !== self && !pending.acks.has(m.id)) return;
      if (synch && !pending.persisted.has(m.id)) return;
    }
    if (durability.persistedAtLeast(pending.key, pending.ts, record)) pending.persisted.add(self);
    if (pending.retransmits === 0) this.#ackLatency.observe(this.host.now() - pending.startedMs);
    const current = tsEquals(record.ts, pending.ts);
    // Past VP: tracked until DP (the Partially-persisted list), unless it is there already. A
    // DP reached here travels on the VAL below (one message per member instead of two).
    durability.trackers.track(pending.key, pending.ts, pending.persisted, true, !current, record);
    if (current) {
      this.host.validate(record);
      this.#sendVal(pending, record);
      this.host.committed(record);
    }
    if (this.#replays.get(pending.key) === pending) {
      this.#replays.delete(pending.key);
      this.host.stats.replaysCompleted++;
    } else {
      if (!current) this.host.stats.supersededCompleted++;
      this.#finishWrite(pending);
    }
    this.host.drainWaiting(pending.key, record);
  }

  #sendVal(pending: PendingWrite, record: HeldRecord): void {
    const view = this.host.view();
    const val: ValMsg = {
      kind: 'val',
      epoch: view.epoch,
      sender: this.host.self,
      key: pending.key,
      version: pending.ts.version,
      cid: pending.ts.cid,
      durable: this.host.durability.isDurable(pending.key, pending.ts, record),
    };
    for (const m of view.members) if (m.id !== this.host.self) this.host.send(m.id, val);
  }

  #finishWrite(write: PendingWrite): void {
    assert(this.#writes.get(write.key) === write, 'finishing the pending own write of its key');
    this.#writes.delete(write.key);
    this.host.stats.writesCompleted++;
    if (write.client) this.host.replyPut(write.client, write.ts);
  }

  /** Sends the INVs not acknowledged within the retransmit timeout again (with a back-off). */
  retransmit(): void {
    const now = this.host.now();
    const resendMs = this.retransmitAfterMs();
    for (const pending of [...this.#writes.values(), ...this.#replays.values()]) {
      if (
        now - pending.sentMs <
        resendMs * 2 ** Math.min(pending.retransmits, MAX_RETRANSMIT_DOUBLINGS)
      )
        continue;
      this.host.stats.retransmits++;
      pending.retransmits++;
      this.#sendInv(pending, true);
    }
  }

  /**
   * A new view: every pending write drops its ACKs and sends INV again to all members.
   * `removed`: this replica left the view (or was re-admitted after leaving): a write it
   * started may have taken its ts from a stale value while others went on without it, so
   * "superseded, linearized just before the superseding write" need not hold. Its client gets no
   * answer (a timed-out put may or may not have applied); the write itself still finishes.
   */
  viewInstalled(removed: boolean): void {
    if (removed) for (const write of this.#writes.values()) write.client = undefined;
    for (const pending of [...this.#writes.values(), ...this.#replays.values()]) {
      pending.acks.clear();
      pending.retransmits++; // its latency includes the view change: not a sample
      this.#sendInv(pending);
    }
  }

  /** Completes what the view's members already acknowledged (after DPs were re-evaluated). */
  checkAll(): void {
    for (const pending of [...this.#writes.values(), ...this.#replays.values()])
      this.#checkComplete(pending);
  }
}
