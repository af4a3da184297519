import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import {
  incarnationOf,
  isMember,
  recordWireBytes,
  type KeyRecord,
  type RecoveryContext,
  type View,
} from '@heal/kv/replica';
import { HEAL_HANDOFF_MAX_ITEMS, type HealHandoffMsg } from './heal-messages.js';
import { MissedUpdates } from './missed-updates.js';
import { buddyOf } from './roles.js';
import type { HealFaults } from './heal-faults.js';

/** Handoff items a Buddy keeps for a failure it has not seen yet (its view lags the sender's). */
export const HEAL_EARLY_HANDOFF_MAX = 1 << 20;

/** What the handoffs count, shared with the Buddy's stats. */
export interface HandoffStats {
  handoffItemsSent: number;
  handoffItemsTaken: number;
  handoffItemsEarly: number;
  handoffItemsDropped: number;
  buffers: number;
}

/**
 * ARCHITECTURE.md §6, HEAL steps 1-3: when a view removes a replica, every full member hands its Buddy
 * the writes that were not at DP, and the Buddy records in a Missed-updates buffer every key that
 * changes until the replica has recovered. Handoffs that overtake the view change are kept until
 * it is installed. Owned by the replica's thread.
 */
export class Handoffs {
  /** The Missed-updates buffers this replica keeps as a Buddy: by failed replica. */
  readonly #buffers = new Map<ActorId, MissedUpdates>();
  /** Handoffs that reached this replica before the view they were sent in: by failed replica. */
  readonly #early = new Map<ActorId, { epoch: number; keys: string[] }>();
  #earlyItems = 0;

  constructor(
    readonly self: ActorId,
    readonly bufferBytes: number,
    readonly faults: HealFaults,
    readonly stats: HandoffStats,
  ) {}

  /** The buffer kept for `failed`, if this replica is its Buddy. */
  buffer(failed: ActorId): MissedUpdates | undefined {
    return this.#buffers.get(failed);
  }

  /** `failed` recovered: its buffer goes. */
  drop(failed: ActorId): void {
    this.#buffers.delete(failed);
  }

  /** A record changed here: every open buffer records its key. */
  applied(record: KeyRecord): void {
    if (this.#buffers.size === 0) return;
    const bytes = recordWireBytes(record);
    for (const buffer of this.#buffers.values()) buffer.record(record.key, bytes);
  }

  /** `wasFull`: this replica was a full member of `previous`. */
  viewInstalled(ctx: RecoveryContext, previous: View, wasFull: boolean): void {
    const view = ctx.view;
    for (const m of previous.members) {
      if (incarnationOf(view, m.id) === m.incarnation) continue;
      // `m` left (or restarted and is re-admitted in the same view): hand its Buddy what it may lack.
      const buddy = buddyOf(view, m.id);
      if (buddy === undefined) continue;
      if (buddy === this.self && !isMember(view, m.id)) {
        const buffer = this.#buffers.get(m.id);
        if (buffer) buffer.reopen();
        // Complete only if this replica recorded since `m` was last up to date: it was full
        // here, and `m` was full too (a shadow removed mid-recovery lacks what came before).
        else this.#open(m.id, wasFull && !ctx.recovering && !previous.shadows.includes(m.id));
      }
      // Only a full member of the old view knows what was not at DP in it (the Buddy too:
      // its own writes in flight were applied before its buffer opened).
      if (wasFull && m.id !== this.self && !this.faults.omitHandoff)
        this.#handoff(ctx, m.id, buddy);
    }
    for (const [failed, buffer] of [...this.#buffers]) {
      if (buddyOf(view, failed) !== this.self) this.#buffers.delete(failed);
      else if (isMember(view, failed)) buffer.close();
    }
    for (const [failed, early] of [...this.#early]) {
      const buffer = this.#buffers.get(failed);
      if (!buffer && early.epoch > view.epoch) continue;
      this.#early.delete(failed);
      this.#earlyItems -= early.keys.length;
      // Sent for a view this replica installed now or skipped: taken if it buffers for `failed`.
      if (buffer) for (const key of early.keys) this.#take(ctx, buffer, key);
      else this.stats.handoffItemsDropped += early.keys.length;
    }
    assert(this.#earlyItems >= 0, 'early handoff items are counted exactly');
  }

  #open(failed: ActorId, complete: boolean): void {
    this.#buffers.set(failed, new MissedUpdates(failed, this.bufferBytes, complete));
    this.stats.buffers++;
  }

  /** HEAL step 2 (ARCHITECTURE.md §6): every write held here that was not at DP goes to the Buddy. */
  #handoff(ctx: RecoveryContext, failed: ActorId, buddy: ActorId): void {
    const items: HealHandoffMsg['items'] = [];
    const flush = (): void => {
      this.stats.handoffItemsSent += items.length;
      if (buddy === this.self) {
        const buffer = this.#buffers.get(failed);
        for (const item of items) if (buffer) this.#take(ctx, buffer, item.key);
      } else {
        ctx.send(buddy, { kind: 'heal-handoff', failed, items: items.splice(0) });
      }
      items.length = 0;
    };
    for (const r of ctx.notDurable()) {
      items.push({
        key: r.key,
        version: r.ts.version,
        cid: r.ts.cid,
        origin: r.origin,
        seq: r.seq,
      });
      if (items.length === HEAL_HANDOFF_MAX_ITEMS) flush();
    }
    if (items.length > 0) flush();
  }

  onHandoff(ctx: RecoveryContext, msg: HealHandoffMsg): void {
    const buffer = this.#buffers.get(msg.failed);
    // Sent in a view this replica has not installed: kept for it, even over a buffer closed
    // meanwhile (the replica failed again before it recovered: that view reopens it).
    if (buffer && msg.epoch <= ctx.view.epoch) {
      for (const item of msg.items) this.#take(ctx, buffer, item.key);
      return;
    }
    if (
      msg.epoch <= ctx.view.epoch ||
      this.#earlyItems + msg.items.length > HEAL_EARLY_HANDOFF_MAX
    ) {
      // Not this replica's failure to buffer (or no room left): the joiner then runs a descent.
      this.stats.handoffItemsDropped += msg.items.length;
      return;
    }
    // The handoff overtook the view change here: kept until that view is installed.
    const early = this.#early.get(msg.failed);
    if (early) early.epoch = Math.max(early.epoch, msg.epoch);
    const keys = early?.keys ?? [];
    for (const item of msg.items) keys.push(item.key);
    if (!early) this.#early.set(msg.failed, { epoch: msg.epoch, keys });
    this.#earlyItems += msg.items.length;
    this.stats.handoffItemsEarly += msg.items.length;
  }

  #take(ctx: RecoveryContext, buffer: MissedUpdates, key: string): void {
    this.stats.handoffItemsTaken++;
    // The Buddy holds this write or a newer one (or takes it from the re-sent INV, recorded then).
    const record = ctx.records().get(key);
    if (record) buffer.take(key, recordWireBytes(record));
  }

  bufferStats(): {
    missedBufferKeys: number;
    missedBufferBytes: number;
    buffersOverflowed: number;
    bufferedFor: number;
    earlyHandoffItems: number;
  } {
    let keys = 0;
    let bytes = 0;
    let overflowed = 0;
    for (const b of this.#buffers.values()) {
      keys += b.keys;
      bytes += b.bytes;
      if (b.overflow) overflowed++;
    }
    return {
      missedBufferKeys: keys,
      missedBufferBytes: bytes,
      buffersOverflowed: overflowed,
      bufferedFor: this.#buffers.size,
      earlyHandoffItems: this.#earlyItems,
    };
  }
}
