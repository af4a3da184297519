import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import type { KeyRecord } from '../storage/key-record.js';
import type { KvStorage } from '../storage/kv-storage.js';
import { MAX_PERSIST_ITEMS, type KeyTs, type KvMessage } from './messages.js';
import { drainMap } from './drain-map.js';
import { compareTs, tsEquals, type Ts } from './timestamp.js';
import { DATASET_TS } from '../storage/dataset.js';
import type { Timing } from './timing.js';
import type { View } from './view.js';
import type { InvalidListed } from './invalid-keys.js';
import { DpTrackers } from './dp-trackers.js';
import { PersistScopes } from './persist-scopes.js';
import { VersionVector } from './version-vector.js';

/** The persistency models of ARCHITECTURE.md §5 (all with Linearizable consistency). */
export type PersistencyModel = 'synch' | 'strict' | 'renf' | 'event' | 'scope';
export const PERSISTENCY_MODELS: readonly PersistencyModel[] = [
  'synch',
  'strict',
  'renf',
  'event',
  'scope',
];

/** Event persists lazily: a background sync every this many ticks (Strict and REnf: every tick). */
export const EVENT_SYNC_TICKS = 8;
/** ACKs a Synch follower holds back until its next sync (one batch of handler calls). */
export const MAX_DEFERRED_ACKS = 1 << 20;
/**
 * Writes learned between two syncs that the next sync adds to the version vector; past it the
 * rest are not added (the vector claims less, never more).
 */
export const MAX_LEARNED_WRITES = 1 << 20;

/**
 * A record as a replica holds it, with the key's durable progress here. The progress lives on
 * the record, so the one lookup that finds a key's record finds it too: with 100k keys each
 * lookup in another large map is a cache miss, and a write made a dozen of them per replica.
 * A record that replaces another of its key carries the progress over (see `held`).
 */
export interface HeldRecord extends KeyRecord, InvalidListed {
  /** Highest ts of the key this replica's medium holds after a sync. */
  persistedTs: Ts | undefined;
  /** Highest ts of the key known to be at DP. */
  durableTs: Ts | undefined;
  /** Written to the medium since the last sync: on Durability's dirty list. */
  dirty: boolean;
  /** May not be at DP here (see Replication's `notDurable`). */
  mayBeUndurable: boolean;
  /** On Replication's list of records that may not be at DP. */
  undurableListed: boolean;
}

export interface DurabilityHost {
  readonly self: ActorId;
  readonly model: PersistencyModel;
  readonly timing: Timing;
  readonly storage: KvStorage;
  /** The replica's records by key (a lookup may hold a record the medium kept: see HeldRecords). */
  readonly records: { get(key: string): HeldRecord | undefined };
  view(): View;
  now(): number;
  send(to: ActorId, msg: KvMessage): void;
  /** `from` durably holds `key` at `ts` or later (also called for this replica's own syncs). */
  persistAck(from: ActorId, key: string, ts: Ts): void;
  /** The DP of `key` advanced (REnf readers may go on); `record`: the key's, if held. */
  durable(key: string, record: HeldRecord | undefined): void;
}

export interface DurabilityStats {
  syncs: number;
  persistAcksSent: number;
  durableSent: number;
}

const tsOf = (item: KeyTs): Ts => ({ version: item.version, cid: item.cid });

/**
 * Persistence and durable progress of one replica (ARCHITECTURE.md §5, "Persistency models").
 * Owned by the replica's thread. Every record change is `write`n to the medium at once; this
 * decides when to `sync` (Synch: in `flush`, before the held-back ACKs go out; Strict and REnf:
 * every tick, so a replica persists in the order it took values; Event: every EVENT_SYNC_TICKS
 * ticks; Scope: when a `persistScope()` asks) and turns every sync into persist acks for the
 * writes' DP trackers. A tracker whose write every member of the current view persisted (or a
 * later ts of its key) is at DP: its replica broadcasts DURABLE in its next `flush`.
 * Order inside `flush`: sync, then persist acks, held-back ACKs, scope answers and DURABLEs are
 * sent (the runtime publishes them after `flush` returns).
 */
export class Durability {
  readonly stats: DurabilityStats = { syncs: 0, persistAcksSent: 0, durableSent: 0 };
  /** Records written to the medium since the last sync, each once (its `dirty` flag says it is listed). */
  #dirty: HeldRecord[] = [];
  /** Members waiting for the persist ack of a dirty key. */
  #persistWaiters = new Map<string, Set<ActorId>>();
  /** A dirty record's value (not only its state) changed: Synch syncs in `flush`. */
  #urgent = false;
  #syncing = false;
  /** DP reached by keys this replica holds no record of (yet): taken over by `held`. */
  readonly #durableUnheld = new Map<string, Ts>();
  /** DP tracking of writes past VP (dp-trackers.ts). */
  readonly trackers: DpTrackers;
  readonly #deferredAcks: { to: ActorId; record: HeldRecord; ts: Ts }[] = [];
  readonly #outPersisted = new Map<ActorId, KeyTs[]>();
  readonly #outRequests = new Map<ActorId, KeyTs[]>();
  #outDurable: KeyTs[] = [];
  /** Scope: persistScope() coordination (persist-scopes.ts). */
  readonly scopes: PersistScopes;
  #syncRequested = false;
  #ticks = 0;
  /** What this replica durably holds by write number (see VersionVector). */
  readonly versionVector: VersionVector;
  /** Writes learned since the last sync, as origin, seq pairs: covered once a sync is done. */
  #learned: number[] = [];
  /** The version vector holds claims the medium has not persisted yet. */
  #vvChanged = false;

  constructor(readonly host: DurabilityHost) {
    this.trackers = new DpTrackers({
      self: host.self,
      timing: host.timing,
      view: () => host.view(),
      now: () => host.now(),
      persistedAtLeast: (key, ts, record) =>
        this.persistedAtLeast(key, ts, record as HeldRecord | undefined),
      isDurable: (key, ts, record) => this.isDurable(key, ts, record as HeldRecord | undefined),
      reached: (key, ts, announce, record) =>
        this.#markDurable(key, ts, announce, record as HeldRecord | undefined),
      request: (to, item) => this.#queue(this.#outRequests, to, item),
    });
    this.scopes = new PersistScopes({
      self: host.self,
      view: () => host.view(),
      now: () => host.now(),
      send: (to, msg) => host.send(to, msg),
      persistedAtLeast: (key, ts) => this.persistedAtLeast(key, ts),
      requestSync: () => {
        this.#syncRequested = true;
      },
    });
    const stored = host.storage.loadVersionVector();
    try {
      this.versionVector = stored ? VersionVector.decode(stored) : new VersionVector();
    } catch (err) {
      throw new RangeError(
        `replica ${host.self}: the version vector on its ${host.storage.medium} medium is invalid: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /**
   * This replica took, ignored (holding a higher ts of its key), wrote or installed write
   * `seq` of `origin`: once the next sync is done its key is durable at that ts or later.
   */
  learned(origin: ActorId, seq: number): void {
    if (seq < 1 || this.#learned.length >= 2 * MAX_LEARNED_WRITES) return;
    this.#learned.push(origin, seq);
  }

  /**
   * The record to hold for `record`'s write: `previous`, the key's record, updated in place
   * (its durable progress stays), or a new one if the key is new here. A key keeps one record
   * object, so what refers to it (pending writes, the dirty list) stays current and a write
   * allocates none; its `ts` and `value` objects are replaced, never mutated (media keep
   * shallow copies). `persisted`: the medium already holds this ts (kept at a restart).
   */
  held(record: KeyRecord, previous: HeldRecord | undefined, persisted = false): HeldRecord {
    if (previous) {
      if (previous.key !== record.key)
        assert.fail(
          `the record of ${previous.key} takes a write of its own key, not ${record.key}`,
        );
      previous.ts = record.ts;
      previous.value = record.value;
      previous.state = record.state;
      previous.origin = record.origin;
      previous.seq = record.seq;
      if (persisted) previous.persistedTs = record.ts;
      return previous;
    }
    let durableTs: Ts | undefined;
    if (this.#durableUnheld.size > 0) {
      durableTs = this.#durableUnheld.get(record.key);
      this.#durableUnheld.delete(record.key);
    }
    return {
      key: record.key,
      ts: record.ts,
      value: record.value,
      state: record.state,
      origin: record.origin,
      seq: record.seq,
      persistedTs: persisted ? record.ts : undefined,
      durableTs,
      dirty: false,
      mayBeUndurable: false,
      undurableListed: false,
      invalidSeq: 0,
    };
  }

  /**
   * This replica started from a dataset every replica holds durably: its keys are persisted
   * and at DP at the dataset's ts (a floor, not a map entry per key: datasets are large).
   */
  loadedDataset(isDatasetKey: (key: string) => boolean): void {
    this.#datasetKey = isDatasetKey;
  }

  #datasetKey: ((key: string) => boolean) | undefined;

  /** `have` (a key's progress) is at `ts` or later; no progress: only a dataset key at its ts. */
  #atLeast(have: Ts | undefined, key: string, ts: Ts): boolean {
    if (have !== undefined) return compareTs(have, ts) >= 0;
    return (
      this.#datasetKey !== undefined && compareTs(DATASET_TS, ts) >= 0 && this.#datasetKey(key)
    );
  }

  /** `record` was written to the medium; `valueChanged`: not only its state. */
  written(record: HeldRecord, valueChanged: boolean): void {
    if (!record.dirty) {
      record.dirty = true;
      this.#dirty.push(record);
    }
    if (valueChanged) this.#urgent = true;
  }

  /** `record`: what `records` holds for `key`, when the caller has it at hand (saves a lookup). */
  persistedAtLeast(key: string, ts: Ts, record = this.host.records.get(key)): boolean {
    return this.#atLeast(record?.persistedTs, key, ts);
  }

  /** `record`: what `records` holds for `key`, when the caller has it at hand (saves a lookup). */
  isDurable(key: string, ts: Ts, record = this.host.records.get(key)): boolean {
    return this.#atLeast(record ? record.durableTs : this.#durableUnheld.get(key), key, ts);
  }

  /** A follower took or acked `key` at `ts`: `to` gets a persist ack once this replica persisted it. */
  notifyOnPersist(key: string, ts: Ts, to: ActorId): void {
    if (this.persistedAtLeast(key, ts)) {
      this.#queue(this.#outPersisted, to, { key, ...ts });
      return;
    }
    const record = this.host.records.get(key);
    if (!record || compareTs(record.ts, ts) < 0) return; // Not taken here yet: the sender retries.
    if (!record.dirty) assert.fail(`key ${key} holds an unpersisted ts, so it is dirty`);
    const waiting = this.#persistWaiters.get(key);
    if (waiting) waiting.add(to);
    else this.#persistWaiters.set(key, new Set([to]));
  }

  /** Synch: the ACK of an INV of `record`'s key goes out after the next sync, with `persisted` set. */
  deferAck(to: ActorId, record: HeldRecord, ts: Ts): void {
    if (this.#deferredAcks.length >= MAX_DEFERRED_ACKS)
      assert.fail(`more than ${MAX_DEFERRED_ACKS} ACKs held back`);
    this.#deferredAcks.push({ to, record, ts });
  }

  // ---- DP ------------------------------------------------------------------------------------

  /** `record`: what `records` holds for `key`, when the caller has it at hand (saves a lookup). */
  #markDurable(key: string, ts: Ts, broadcast: boolean, record = this.host.records.get(key)): void {
    this.trackers.reached(key, ts);
    if (this.isDurable(key, ts, record)) return;
    // The record's own ts object when it is the same write: a DURABLE's or VAL's copy would be
    // one more object per write and record that lives until the key is written again.
    if (record) record.durableTs = tsEquals(record.ts, ts) ? record.ts : ts;
    else this.#durableUnheld.set(key, ts);
    if (broadcast) this.#outDurable.push({ key, ...ts });
    this.host.durable(key, record);
  }

  onDurable(items: readonly KeyTs[]): void {
    for (const item of items) this.#markDurable(item.key, tsOf(item), false);
  }

  /** As a DURABLE of one item would (a Synch VAL carries it); `record`: the key's, if held. */
  markDurable(key: string, ts: Ts, record: HeldRecord | undefined): void {
    this.#markDurable(key, ts, false, record);
  }

  onPersisted(from: ActorId, items: readonly KeyTs[]): void {
    for (const item of items) this.host.persistAck(from, item.key, tsOf(item));
  }

  onPersistRequest(from: ActorId, items: readonly KeyTs[]): void {
    for (const item of items) this.notifyOnPersist(item.key, tsOf(item), from);
  }

  // ---- Time, views, batches -----------------------------------------------------------------

  tick(): void {
    this.#ticks++;
    const { model } = this.host;
    if (
      model === 'strict' ||
      model === 'renf' ||
      (this.#ticks % EVENT_SYNC_TICKS === 0 && model !== 'scope')
    )
      this.#sync();
    this.trackers.tick();
    this.scopes.tick(this.host.timing.retransmitMs);
  }

  /**
   * A new view re-evaluates pending DPs and adopts what nobody may track (see DpTrackers);
   * open scopes may be complete. `candidates`: the records that may not be at DP.
   */
  viewInstalled(view: View, candidates: Iterable<KeyRecord>): void {
    this.trackers.viewInstalled(view, candidates);
    this.scopes.viewInstalled();
  }

  /** End of a batch of handler calls: sync if the model needs it now, then send what follows. */
  flush(): void {
    const synch = this.host.model === 'synch';
    const syncNow =
      this.#syncRequested || (synch && (this.#urgent || this.#deferredAcks.length > 0));
    // A persist ack of our own sync may complete a write whose successor then writes: at most
    // one more round here (its completion needs other members' acks, which come later).
    if (syncNow) {
      this.#sync();
      if (synch && this.#urgent) this.#sync();
    }
    this.#syncRequested = false;
    this.#sendDeferredAcks();
    this.scopes.answer();
    this.#sendBatches('persisted', this.#outPersisted);
    this.#sendBatches('persist-request', this.#outRequests);
    if (this.#outDurable.length > 0) {
      const everyone = new Map<ActorId, KeyTs[]>();
      for (const m of this.host.view().members)
        if (m.id !== this.host.self) everyone.set(m.id, this.#outDurable);
      this.stats.durableSent += this.#outDurable.length;
      this.#outDurable = [];
      this.#sendBatches('durable', everyone);
    }
  }

  /** Sends each member's items in messages of at most MAX_PERSIST_ITEMS, and clears `batches`. */
  #sendBatches(
    kind: 'persisted' | 'persist-request' | 'durable',
    batches: Map<ActorId, KeyTs[]>,
  ): void {
    if (batches.size === 0) return;
    const epoch = this.host.view().epoch;
    drainMap(batches, (items, to) => {
      for (let i = 0; i < items.length; i += MAX_PERSIST_ITEMS) {
        this.host.send(to, {
          kind,
          epoch,
          sender: this.host.self,
          items: items.slice(i, i + MAX_PERSIST_ITEMS),
        });
      }
    });
  }

  #sendDeferredAcks(): void {
    if (this.#deferredAcks.length === 0) return;
    const epoch = this.host.view().epoch;
    for (const { to, record, ts } of this.#deferredAcks.splice(0)) {
      const { key } = record;
      const persisted = this.persistedAtLeast(key, ts, record);
      this.host.send(to, {
        kind: 'ack',
        epoch,
        sender: this.host.self,
        key,
        version: ts.version,
        cid: ts.cid,
        persisted,
      });
    }
  }

  /** Syncs now, whatever the model (a recovering replica making what it installed durable). */
  syncNow(): void {
    this.#sync();
  }

  /** Writes learned so far are covered: every record is durable, or will be by the sync under way. */
  #coverLearned(): void {
    const learned = this.#learned;
    if (learned.length === 0) return;
    for (let i = 0; i < learned.length; i += 2)
      this.versionVector.add(learned[i] as number, learned[i + 1] as number);
    this.#learned = [];
    this.#vvChanged = true;
  }

  /**
   * Makes every write so far durable and the version vector after them, then hands out the
   * persist acks it earned.
   */
  #sync(): void {
    if (this.#dirty.length === 0) {
      // Every record is durable already: what was learned is covered (persisted with the next sync).
      this.#coverLearned();
      return;
    }
    if (this.#syncing) assert.fail('a sync is not re-entered from its own persist acks');
    this.#syncing = true;
    this.#coverLearned();
    this.host.storage.sync(this.#vvChanged ? this.versionVector.encode() : undefined);
    this.#vvChanged = false;
    this.stats.syncs++;
    const synced = this.#dirty;
    this.#dirty = [];
    this.#urgent = false;
    // Every waiter waits on a dirty key: all of them are answered by this sync.
    const waiters = this.#persistWaiters;
    if (waiters.size > 0) this.#persistWaiters = new Map();
    for (const record of synced) {
      record.dirty = false;
      record.persistedTs = record.ts;
    }
    // Acks after every key is marked: one may start a write that dirties a key again (its ts
    // moves on; persistedTs stays what this sync made durable).
    for (const record of synced) {
      const { key } = record;
      const ts = record.persistedTs as Ts;
      const waiting = waiters.size > 0 ? waiters.get(key) : undefined;
      if (waiting)
        for (const to of waiting)
          if (to !== this.host.self) this.#queue(this.#outPersisted, to, { key, ...ts });
      this.host.persistAck(this.host.self, key, ts);
    }
    this.#syncing = false;
  }

  #queue(map: Map<ActorId, KeyTs[]>, to: ActorId, item: KeyTs): void {
    if (to === this.host.self) return;
    if (map === this.#outPersisted) this.stats.persistAcksSent++;
    const list = map.get(to);
    if (list) list.push(item);
    else map.set(to, [item]);
  }
}
