import assert from 'node:assert/strict';
import type { ActorId, ByteString } from '@heal/actors/core';
import type { KeyRecord } from '../storage/key-record.js';
import type { KvStorage } from '../storage/kv-storage.js';
import { Durability, type HeldRecord } from './durability.js';
import type { AckMsg, GetItem, InvMsg, PersistScopeMsg, ValMsg } from './messages.js';
import { compareTs, nextTs, tsEquals, ZERO_TS, type Ts } from './timestamp.js';
import { AdaptiveTimeout } from './adaptive-timeout.js';
import { Coordinator, type ClientRef } from './coordinator.js';
import { InvalidKeys } from './invalid-keys.js';
import { isMember, type View } from './view.js';
import { HeldRecords } from './held-records.js';
import { LoadedRecords } from './loaded-records.js';
import { LocalReads } from './local-reads.js';
import type { ReplicationHost, ReplicationStats } from './replication-host.js';
import { UndurableList } from './undurable-list.js';
import { WaitingOps } from './waiting-ops.js';
import { WriteNumbers } from './write-numbers.js';

export { MAX_WAITING_OPS } from './waiting-ops.js';

/** Keys examined for replay per tick, so one tick's work stays bounded. */
export const MAX_REPLAY_SCAN_PER_TICK = 4096;
export { MAX_RETRANSMIT_DOUBLINGS, type ClientRef } from './coordinator.js';

/**
 * The Hermes data plane of one replica (ARCHITECTURE.md §3): per-key Valid/Invalid/Write/Replay,
 * INV/ACK/VAL, completion at ACKs from every member of the current view, superseded writes,
 * replay of keys left Invalid, and local reads of Valid keys (local-reads.ts). What a start
 * loaded: loaded-records.ts; write numbers: write-numbers.ts.
 */
export class Replication {
  readonly records = new HeldRecords();
  /** Records that may not be at DP (see UndurableList). */
  readonly #undurable: UndurableList;
  readonly stats: ReplicationStats = {
    writesStarted: 0,
    writesCompleted: 0,
    supersededCompleted: 0,
    replaysStarted: 0,
    replaysCompleted: 0,
    invsTaken: 0,
    retransmits: 0,
    readsServed: 0,
    readsWaited: 0,
    readsWaitedDurable: 0,
    getValueBytes: 0,
  };
  readonly durability: Durability;
  /** This replica's own writes and replays, waiting for ACKs. */
  readonly #coordinator: Coordinator;
  /** Invalid keys at this replica: since when, and who sent the INV. */
  readonly #invalid = new InvalidKeys<HeldRecord>();
  readonly #waiting = new WaitingOps();
  /** Invalid to Valid of keys this replica follows (the replay timeout follows it). */
  readonly #validLatency = new AdaptiveTimeout();
  readonly #reads: LocalReads;
  readonly #loaded: LoadedRecords;
  readonly #seq: WriteNumbers;

  constructor(readonly host: ReplicationHost) {
    this.durability = new Durability({
      self: host.self,
      model: host.model,
      timing: host.timing,
      storage: host.storage,
      records: this.records,
      view: () => host.view(),
      now: () => host.now(),
      send: (to, msg) => host.send(to, msg),
      persistAck: (from, key, ts) => this.#persistAck(from, key, ts),
      durable: (key, record) => this.#drainDurable(key, record),
    });
    this.#undurable = new UndurableList(this.durability);
    this.#coordinator = new Coordinator({
      self: host.self,
      model: host.model,
      timing: host.timing,
      durability: this.durability,
      stats: this.stats,
      view: () => host.view(),
      now: () => host.now(),
      send: (to, msg) => host.send(to, msg),
      replyPut: (ref, ts) => host.replyPut(ref, ts),
      committed: (record) => host.committed(record),
      validate: (record) => this.#validate(record),
      drainWaiting: (key, record) => this.#drainWaiting(key, record),
    });
    this.#reads = new LocalReads({
      host,
      records: this.records,
      durability: this.durability,
      waiting: this.#waiting,
      stats: this.stats,
      admitWaiter: (ref) => this.#admitWaiter(ref),
    });
    this.#loaded = new LoadedRecords(this.records, this.durability, this.#undurable);
    this.#seq = new WriteNumbers(host.storage);
  }

  /** Loads what the medium kept (see LoadedRecords.load); write numbers start above `seqFloor`. */
  load(storage: KvStorage, seqFloor: number, isDatasetKey?: (key: string) => boolean): void {
    this.#loaded.load(storage, isDatasetKey);
    this.#seq.startAbove(seqFloor);
  }

  /** Holds `records` in memory now: a dataset generated in place (its medium keeps nothing). */
  loadRecords(
    records: Iterable<KeyRecord>,
    seqFloor: number,
    isDatasetKey: (key: string) => boolean,
  ): void {
    this.#loaded.loadRecords(records, isDatasetKey);
    this.#seq.startAbove(seqFloor);
  }

  /** The retransmit and replay timeouts now (they follow the latencies observed here). */
  timeouts(): { retransmitAfterMs: number; replayAfterMs: number } {
    const { replayTimeoutMs } = this.host.timing;
    return {
      retransmitAfterMs: this.#coordinator.retransmitAfterMs(),
      replayAfterMs: this.#validLatency.timeoutMs(replayTimeoutMs),
    };
  }

  get pendingWrites(): number {
    return this.#coordinator.pending;
  }

  get invalidKeys(): number {
    return this.#invalid.size;
  }

  /** Writes the record to the medium; `previous` is the key's ts before this change. */
  #store(record: HeldRecord, previous: Ts | undefined): void {
    this.host.storage.write(record);
    const valueChanged = previous === undefined || !tsEquals(previous, record.ts);
    this.durability.written(record, valueChanged);
    this.#undurable.changed(record);
    this.host.applied(record, previous);
  }

  /** The key's record, now holding `write` (see Durability.held); `current`: the key's record before. */
  #hold(write: KeyRecord, current: HeldRecord | undefined): HeldRecord {
    const record = this.durability.held(write, current);
    if (!current) this.records.set(record);
    return record;
  }

  #setInvalid(record: HeldRecord, from: ActorId): void {
    record.state = 'invalid';
    // Re-listed at the end, so the list stays ordered by since when.
    this.#invalid.add(record, this.host.now(), from);
  }

  // ---- Client operations ----------------------------------------------------------------------

  /** Serves a read here if the key is Valid (or absent); else it waits for Valid (LocalReads). */
  read(ref: ClientRef, key: string): void {
    this.#reads.read(ref, key);
  }

  /** Reads of one get message, as `read` each. */
  readAll(client: ActorId, items: readonly GetItem[]): void {
    this.#reads.readAll(client, items);
  }

  /** The DP of `key` advanced. */
  #drainDurable(key: string, record = this.records.get(key)): void {
    if (record) this.#undurable.durable(record);
    this.#reads.drainDurable(key, record);
  }

  /** Scope model: a client's persistScope(), answered when every member persisted its writes. */
  persistScope(msg: PersistScopeMsg): void {
    if (!this.durability.scopes.open(msg))
      this.host.replyBusy({ client: msg.sender, reqId: msg.reqId });
  }

  /** Coordinates a client write: waits until the key is Valid here and no own write is pending. */
  write(ref: ClientRef, key: string, value: ByteString): void {
    const record = this.records.get(key);
    const ready =
      (!record || record.state === 'valid') &&
      !this.#coordinator.hasOwnWrite(key) &&
      !this.#waiting.hasWrites(key);
    if (ready) {
      this.#startWrite(key, value, ref, record);
      return;
    }
    if (!this.#admitWaiter(ref)) return;
    this.#waiting.write(key, ref, value);
  }

  #admitWaiter(ref: ClientRef): boolean {
    if (this.#waiting.admit()) return true;
    this.host.replyBusy(ref);
    return false;
  }

  /** `current`: the key's record (the caller looked it up). */
  #startWrite(
    key: string,
    value: ByteString,
    client: ClientRef | undefined,
    current: HeldRecord | undefined,
  ): void {
    if (current && current.state !== 'valid')
      assert.fail(`a write starts only on a Valid key (${key} is ${current.state})`);
    const previous = current?.ts;
    const ts = nextTs(previous ?? ZERO_TS, this.host.self);
    const record = this.#hold(
      { key, ts, value, state: 'write', origin: this.host.self, seq: this.#seq.next() },
      current,
    );
    this.durability.learned(record.origin, record.seq);
    this.#store(record, previous);
    this.#coordinator.startWrite(record, client);
  }

  // ---- Protocol messages --------------------------------------------------------------------

  onInv(msg: InvMsg): void {
    const ts = { version: msg.version, cid: msg.cid };
    this.durability.learned(msg.origin, msg.seq);
    let record = this.records.get(msg.key);
    const previous = record?.ts;
    if (compareTs(ts, previous ?? ZERO_TS) > 0) {
      // Take the newer value; a local write or replay with a lower ts is superseded here.
      record = this.#hold(
        { key: msg.key, ts, value: msg.value, state: 'invalid', origin: msg.origin, seq: msg.seq },
        record,
      );
      this.#setInvalid(record, msg.sender);
      this.#coordinator.dropReplay(msg.key);
      this.stats.invsTaken++;
      this.#store(record, previous);
    }
    if (!record) assert.fail(`key ${msg.key} has a record after an INV (its ts is above zero)`);
    if (this.host.model === 'synch') {
      // Synch: the ACK follows the persist (sent after the sync in `flush`).
      this.durability.deferAck(msg.sender, record, ts);
      return;
    }
    const persisted = this.durability.persistedAtLeast(msg.key, ts, record);
    if (!persisted) this.durability.notifyOnPersist(msg.key, ts, msg.sender);
    this.host.send(msg.sender, {
      kind: 'ack',
      epoch: this.host.view().epoch,
      sender: this.host.self,
      key: msg.key,
      version: msg.version,
      cid: msg.cid,
      persisted,
    });
  }

  onAck(msg: AckMsg): void {
    this.#coordinator.onAck(msg);
  }

  /** `from` durably holds `key` at `ts` or later: for pending writes, then for DP trackers. */
  #persistAck(from: ActorId, key: string, ts: Ts): void {
    this.#coordinator.persistAck(from, key, ts);
    this.durability.trackers.ack(from, key, ts);
  }

  onVal(msg: ValMsg): void {
    const ts = { version: msg.version, cid: msg.cid };
    const record = this.records.get(msg.key);
    if (record && tsEquals(record.ts, ts) && record.state !== 'valid') {
      this.#validate(record);
      // A replayer finished our own write: its client completes (ARCHITECTURE.md §3, replay).
      this.#coordinator.validated(msg.key, ts);
      this.#drainWaiting(msg.key, record);
    }
    // As a DURABLE would: whatever this replica holds of the key.
    if (msg.durable) this.durability.markDurable(msg.key, ts, record);
  }

  #validate(record: HeldRecord): void {
    record.state = 'valid';
    const sinceMs = this.#invalid.remove(record);
    if (sinceMs !== undefined) this.#validLatency.observe(this.host.now() - sinceMs);
    this.#store(record, record.ts);
  }

  /** Serves the reads and starts the next write waiting on `key`, if it is Valid now; `record`: the key's. */
  #drainWaiting(key: string, record: HeldRecord | undefined): void {
    if ((record && record.state !== 'valid') || !this.#waiting.anyForValid) return;
    this.#reads.drainValid(key);
    if (this.#coordinator.hasOwnWrite(key)) return;
    const next = this.#waiting.takeWrite(key);
    if (next) this.#startWrite(key, next.value, next.ref, record);
  }

  // ---- Time and views -----------------------------------------------------------------------

  /** Retransmits unacknowledged INVs and replays keys left Invalid too long. */
  tick(canReplay: boolean): void {
    const now = this.host.now();
    this.#coordinator.retransmit();
    this.durability.tick();
    this.#reads.adoptWaitedDurable(now, MAX_REPLAY_SCAN_PER_TICK);
    if (!canReplay) return;
    const waitMs = this.#validLatency.timeoutMs(this.host.timing.replayTimeoutMs);
    this.#invalid.visitOldest(MAX_REPLAY_SCAN_PER_TICK, (record, sinceMs) => {
      if (now - sinceMs < waitMs) return false;
      this.replay(record.key);
      return true;
    });
  }

  /** End of a batch of handler calls (Actor.flush): persistence and what must follow it. */
  flush(): void {
    this.durability.flush();
  }

  /** Re-coordinates the key's current (Invalid) write with the same ts, value, origin and seq. */
  replay(key: string): void {
    const record = this.records.get(key);
    if (record) this.#invalid.remove(record);
    if (!record || record.state !== 'invalid' || this.#coordinator.isReplaying(key)) return;
    record.state = 'replay';
    this.#store(record, record.ts);
    this.#coordinator.startReplay(record);
  }

  /**
   * A new view: pending writes and replays drop their ACKs and re-send INV in the new epoch
   * to all members; keys whose INV sender left the view are replayed now.
   */
  viewInstalled(view: View, canReplay: boolean, removed: boolean): void {
    // Removed (or re-admitted after leaving): see Coordinator.viewInstalled.
    if (removed) this.#rejectWaiting();
    this.#coordinator.viewInstalled(removed);
    // Not the cold records: reading them all at every view change would stall this replica
    // O(keys) long, and they need no adoption here (see coldNotDurable).
    this.durability.viewInstalled(view, this.notDurable());
    this.#coordinator.checkAll();
    if (!canReplay) return;
    for (const { record, from } of this.#invalid.entries()) {
      if (!isMember(view, from)) this.replay(record.key);
    }
  }

  /**
   * Client operations still queued here never started, and must not start on this replica's
   * stale state later (a write queued before a removal would take its ts from it): each client
   * is told `not-serving` and asks another replica.
   */
  #rejectWaiting(): void {
    for (const ref of this.#waiting.takeAll()) this.host.replyNotServing(ref);
  }

  /** Records whose write is not known to be at DP here (see UndurableList). */
  notDurable(): HeldRecord[] {
    return this.#undurable.notDurable();
  }

  /** The records loaded at a restart and never touched since (see LoadedRecords). */
  coldNotDurable(): Iterable<KeyRecord> {
    return this.#loaded.coldNotDurable();
  }

  /**
   * Replays every Invalid key now (a recovered replica finishing its own leftovers). Only held
   * records can be Invalid: those loaded not Valid were held at load.
   */
  replayAllInvalid(): void {
    for (const record of this.records.held()) {
      if (record.state === 'invalid') this.replay(record.key);
    }
  }

  /**
   * Installs a record from a recovery source. Applied only if newer than what is here (or the
   * same write, Valid at the source while Invalid here); not-Valid sources install Invalid.
   */
  installRecovered(entry: KeyRecord, from: ActorId): boolean {
    this.durability.learned(entry.origin, entry.seq);
    const record = this.records.get(entry.key);
    const order = compareTs(entry.ts, record?.ts ?? ZERO_TS);
    if (order < 0 || (order === 0 && (entry.state !== 'valid' || record?.state === 'valid')))
      return false;
    if (order === 0 && record) {
      this.#validate(record);
      this.#drainWaiting(record.key, record);
      return true;
    }
    const previous = record?.ts;
    const installed = this.#hold(
      {
        key: entry.key,
        ts: entry.ts,
        value: entry.value,
        state: 'valid',
        origin: entry.origin,
        seq: entry.seq,
      },
      record,
    );
    this.#coordinator.dropReplay(entry.key);
    if (entry.state === 'valid') this.#invalid.remove(installed);
    else this.#setInvalid(installed, from);
    this.#store(installed, previous);
    this.#drainWaiting(entry.key, installed);
    return true;
  }
}
