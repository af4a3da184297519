import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import type { KeyRecord } from '../storage/key-record.js';
import type { KeyTs } from './messages.js';
import { compareTs, type Ts } from './timestamp.js';
import type { Timing } from './timing.js';
import type { View } from './view.js';

/** DP trackers examined for a persist-request retry per tick, so one tick's work stays bounded. */
export const MAX_DP_RETRY_SCAN_PER_TICK = 4096;
/**
 * Persist-request retries of one tracker back off: retransmitMs, then twice that, ... up to
 * 2^this times it. Under Scope most trackers wait for the next persistScope(), not for a lost
 * message, and must not flood the members meanwhile.
 */
export const MAX_DP_RETRY_DOUBLINGS = 6;
/**
 * Partially-persisted entries (and DP trackers) at one replica: at most one per key, so the
 * bound is the key count a medium can hold; checked.
 */
export const MAX_DP_TRACKERS = 1 << 22;

/** Tracks one write, after its VP, until it (or a later ts of its key) reaches DP. */
interface DpTracker {
  readonly key: string;
  readonly ts: Ts;
  /** Members that durably hold ts or a later ts of the key (persist acks). */
  readonly acks: Set<ActorId>;
  /** When the write passed VP here (or was adopted). */
  readonly vpMs: number;
  /** Last persist-request sent for it; -Infinity: at the next tick. */
  requestedMs: number;
  /** Persist-requests sent so far (the retry interval doubles with each, up to a bound). */
  retries: number;
  /** This replica coordinated (or replayed) the write: it is on the Partially-persisted list. */
  readonly coordinated: boolean;
}

/** A write on the Partially-persisted list: past VP, not yet at DP (for recovery and stats). */
export interface PartiallyPersisted {
  readonly key: string;
  readonly ts: Ts;
  readonly sinceMs: number;
}

export interface DpTrackersHost {
  readonly self: ActorId;
  readonly timing: Timing;
  view(): View;
  now(): number;
  persistedAtLeast(key: string, ts: Ts, record?: KeyRecord): boolean;
  isDurable(key: string, ts: Ts, record?: KeyRecord): boolean;
  /** `ts` of `key` reached DP here (`announce`: broadcast DURABLE). */
  reached(key: string, ts: Ts, announce: boolean, record?: KeyRecord): void;
  /** Asks `to` for the persist ack of `item` (sent in the next flush). */
  request(to: ActorId, item: KeyTs): void;
}

const NOBODY: ReadonlySet<ActorId> = new Set();

/**
 * DP tracking of one replica (ARCHITECTURE.md §5): a write past VP is tracked until every member
 * of the current view persisted it (or a later ts of its key), as its persist acks say; members
 * that have not acked are asked again with a back-off. A view change re-evaluates every tracker
 * against the new members, and adopts the Valid records whose coordinator left (nobody else
 * would track them). The coordinator's trackers are its Partially-persisted list.
 *
 * Owned by the replica's thread (part of Durability); ordered by last request, oldest first.
 */
export class DpTrackers {
  readonly #trackers = new Map<string, DpTracker>();
  readonly stats = { dpReached: 0, persistRequests: 0 };

  constructor(readonly host: DpTrackersHost) {}

  /**
   * A write passed VP here; `acks` are the members known to have persisted it. `announce`:
   * broadcast DURABLE if it is at DP already (false: the caller's VAL says so). `record`: the
   * key's, when the caller has it at hand (saves a lookup).
   */
  track(
    key: string,
    ts: Ts,
    acks: ReadonlySet<ActorId>,
    coordinated: boolean,
    announce = true,
    record?: KeyRecord,
  ): void {
    if (this.host.isDurable(key, ts, record)) return;
    const existing = this.#trackers.size > 0 ? this.#trackers.get(key) : undefined;
    if (existing && compareTs(existing.ts, ts) >= 0) return;
    if (this.#persistedByAll(key, ts, acks, record)) {
      // At DP already (Synch always is): a tracker would be inserted only to be deleted.
      this.stats.dpReached++;
      this.host.reached(key, ts, announce, record);
      return;
    }
    if (this.#trackers.size >= MAX_DP_TRACKERS)
      assert.fail(`more than ${MAX_DP_TRACKERS} writes wait for DP`);
    const now = this.host.now();
    const tracker: DpTracker = {
      key,
      ts,
      acks: new Set(acks),
      vpMs: now,
      requestedMs: coordinated ? now : -Infinity,
      retries: 0,
      coordinated,
    };
    this.#trackers.delete(key);
    this.#trackers.set(key, tracker);
    this.#check(tracker, announce);
  }

  /** Tracks the DP of a Valid record nobody may be tracking (its coordinator left or restarted). */
  adopt(key: string, ts: Ts): void {
    if (!this.#trackers.has(key)) this.track(key, ts, NOBODY, false);
  }

  /** `from` durably holds `key` at `ts` or later. */
  ack(from: ActorId, key: string, ts: Ts): void {
    if (this.#trackers.size === 0) return;
    const tracker = this.#trackers.get(key);
    if (!tracker || compareTs(tracker.ts, ts) > 0) return;
    tracker.acks.add(from);
    this.#check(tracker);
  }

  /** `ts` of `key` is at DP: its tracker, if not of a later write, is done. */
  reached(key: string, ts: Ts): void {
    if (this.#trackers.size === 0) return;
    const tracker = this.#trackers.get(key);
    if (tracker && compareTs(tracker.ts, ts) <= 0) this.#trackers.delete(key);
  }

  #check(tracker: DpTracker, announce = true): void {
    if (!this.#persistedByAll(tracker.key, tracker.ts, tracker.acks)) return;
    this.stats.dpReached++;
    this.host.reached(tracker.key, tracker.ts, announce);
  }

  /** Every member of the view persisted `ts` of `key` (or later): this one by its own medium, the others per `acks`. */
  #persistedByAll(key: string, ts: Ts, acks: ReadonlySet<ActorId>, record?: KeyRecord): boolean {
    for (const m of this.host.view().members) {
      const done =
        m.id === this.host.self ? this.host.persistedAtLeast(key, ts, record) : acks.has(m.id);
      if (!done) return false;
    }
    return true;
  }

  /** Asks again, with a back-off, the members of trackers whose acks are overdue. */
  tick(): void {
    const now = this.host.now();
    const retryMs = this.host.timing.retransmitMs;
    let scanned = 0;
    const due: DpTracker[] = [];
    for (const tracker of this.#trackers.values()) {
      if (++scanned > MAX_DP_RETRY_SCAN_PER_TICK) break;
      if (
        now - tracker.requestedMs >=
        retryMs * 2 ** Math.min(tracker.retries, MAX_DP_RETRY_DOUBLINGS)
      )
        due.push(tracker);
    }
    for (const tracker of due) this.#request(tracker);
  }

  /** Asks the members that have not acked for persist acks; moves the tracker to the end. */
  #request(tracker: DpTracker): void {
    tracker.requestedMs = this.host.now();
    tracker.retries++;
    this.#trackers.delete(tracker.key);
    this.#trackers.set(tracker.key, tracker);
    for (const m of this.host.view().members) {
      if (m.id === this.host.self || tracker.acks.has(m.id)) continue;
      this.stats.persistRequests++;
      this.host.request(m.id, { key: tracker.key, ...tracker.ts });
    }
  }

  /**
   * A new view re-evaluates pending DPs (members that left no longer count, new members are
   * asked at the next tick) and adopts the `candidates` (records that may not be at DP) that
   * are Valid and whose coordinator left.
   */
  viewInstalled(view: View, candidates: Iterable<KeyRecord>): void {
    for (const tracker of [...this.#trackers.values()]) {
      tracker.requestedMs = -Infinity;
      tracker.retries = 0;
      this.#check(tracker);
    }
    const members = new Set(view.members.map((m) => m.id));
    for (const record of [...candidates]) {
      if (
        record.state === 'valid' &&
        !members.has(record.ts.cid) &&
        !this.host.isDurable(record.key, record.ts)
      ) {
        this.adopt(record.key, record.ts);
      }
    }
  }

  /** The Partially-persisted list: writes this replica coordinated, past VP, not yet at DP. */
  *partiallyPersisted(): IterableIterator<PartiallyPersisted> {
    for (const t of this.#trackers.values()) {
      if (t.coordinated) yield { key: t.key, ts: t.ts, sinceMs: t.vpMs };
    }
  }

  partiallyPersistedStats(): {
    partiallyPersisted: number;
    partiallyPersistedOldestMs: number;
    dpTrackers: number;
  } {
    let count = 0;
    let oldest = Infinity;
    for (const t of this.#trackers.values()) {
      if (!t.coordinated) continue;
      count++;
      oldest = Math.min(oldest, t.vpMs);
    }
    return {
      partiallyPersisted: count,
      partiallyPersistedOldestMs: count === 0 ? 0 : this.host.now() - oldest,
      dpTrackers: this.#trackers.size,
    };
  }
}
