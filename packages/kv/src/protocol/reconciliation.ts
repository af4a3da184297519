import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import type { KeyRecord } from '../storage/key-record.js';
import {
  COLD_BATCH_MAX_BYTES,
  COLD_BATCH_MAX_ENTRIES,
  type ColdPullMsg,
  type ColdRecordsMsg,
} from './cold-start-messages.js';
import type { Timing } from './timing.js';
import { isColdStartView, type View } from './view.js';

/** What reconciliation needs from the replica around it. */
export interface ReconciliationHost {
  readonly self: ActorId;
  readonly timing: Timing;
  now(): number;
  send(to: ActorId, msg: { kind: 'cold-pull' | 'cold-records'; [field: string]: unknown }): void;
  records(): ReadonlyMap<string, KeyRecord>;
  /** Installs a record of `from` if it is newer than this replica's (as a recovery does). */
  install(entry: KeyRecord, from: ActorId): boolean;
}

/**
 * Reconciliation after a cold start (every replica restarted from its medium; see
 * membership.ts): each member pulls every other member's records and installs those newer than
 * its own, so every key ends at the highest ts any member kept (not-Valid ones are installed
 * Invalid and replayed). A member serves reads only once it has pulled from all of them: its
 * value of every key is then at least the highest any medium kept, so no read returns a value
 * that another replica's medium superseded.
 *
 * What a member sends are the keys it held when it installed the cold-start view (what its
 * medium kept), each at its current record: a record only ever moves to a higher ts, so that is
 * what the medium kept or later. Pulled in batches, one outstanding per member, asked again
 * after `retransmitMs` without an answer (messages may be lost).
 */
export class Reconciliation {
  readonly epoch: number;
  /** The keys this replica held at the cold start, in the order it serves them. */
  readonly #keys: string[];
  /** Members not pulled completely yet: the next position and when it was asked for. */
  readonly #pending = new Map<ActorId, { from: number; askedMs: number }>();
  readonly stats = { coldEntriesReceived: 0, coldEntriesApplied: 0, coldPulls: 0 };

  constructor(
    readonly host: ReconciliationHost,
    view: View,
  ) {
    assert(isColdStartView(view), `reconciliation runs in a cold-start view (epoch ${view.epoch})`);
    this.epoch = view.epoch;
    this.#keys = [...host.records().keys()];
    for (const m of view.members)
      if (m.id !== host.self) this.#pending.set(m.id, { from: 0, askedMs: -Infinity });
    this.tick();
  }

  /** Whether this replica still waits for some member's records. */
  get pulling(): boolean {
    return this.#pending.size > 0;
  }

  /** This replica left the view: it no longer pulls (it still serves its records). */
  stopPulling(): void {
    this.#pending.clear();
  }

  tick(): void {
    const now = this.host.now();
    for (const [member, p] of this.#pending) {
      if (now - p.askedMs < this.host.timing.retransmitMs) continue;
      this.#ask(member, p);
    }
  }

  #ask(member: ActorId, p: { from: number; askedMs: number }): void {
    p.askedMs = this.host.now();
    this.stats.coldPulls++;
    this.host.send(member, { kind: 'cold-pull', coldEpoch: this.epoch, from: p.from });
  }

  onPull(msg: ColdPullMsg): void {
    if (msg.coldEpoch !== this.epoch || msg.from > this.#keys.length) return;
    const records = this.host.records();
    const entries: ColdRecordsMsg['entries'] = [];
    let bytes = 0;
    let next = msg.from;
    while (
      next < this.#keys.length &&
      entries.length < COLD_BATCH_MAX_ENTRIES &&
      bytes < COLD_BATCH_MAX_BYTES
    ) {
      const record = records.get(this.#keys[next++] as string);
      assert(record, 'a replica never drops a key it held');
      entries.push({
        key: record.key,
        version: record.ts.version,
        cid: record.ts.cid,
        value: record.value,
        state: record.state,
        origin: record.origin,
        seq: record.seq,
      });
      bytes += record.key.length + record.value.length;
    }
    this.host.send(msg.sender, {
      kind: 'cold-records',
      coldEpoch: this.epoch,
      from: msg.from,
      next,
      last: next === this.#keys.length,
      entries,
    });
  }

  /** Installs a batch; returns true when this replica just finished pulling from every member. */
  onRecords(msg: ColdRecordsMsg): boolean {
    const p = this.#pending.get(msg.sender);
    if (!p || msg.coldEpoch !== this.epoch || msg.from !== p.from) return false;
    for (const e of msg.entries) {
      const record: KeyRecord = {
        key: e.key,
        ts: { version: e.version, cid: e.cid },
        value: e.value,
        state: e.state,
        origin: e.origin,
        seq: e.seq,
      };
      this.stats.coldEntriesReceived++;
      if (this.host.install(record, msg.sender)) this.stats.coldEntriesApplied++;
    }
    if (msg.last) {
      this.#pending.delete(msg.sender);
      return this.#pending.size === 0;
    }
    p.from = msg.next;
    this.#ask(msg.sender, p);
    return false;
  }
}
