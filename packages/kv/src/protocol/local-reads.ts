import type { ActorId } from '@heal/actors/core';
import type { ClientRef } from './coordinator.js';
import type { Durability, HeldRecord } from './durability.js';
import type { HeldRecords } from './held-records.js';
import type { GetItem } from './messages.js';
import type { ReplicationHost, ReplicationStats } from './replication-host.js';
import type { WaitingOps } from './waiting-ops.js';

/** What the reads share with the rest of the data plane. */
export interface LocalReadsParts {
  readonly host: ReplicationHost;
  readonly records: HeldRecords;
  readonly durability: Durability;
  readonly waiting: WaitingOps;
  readonly stats: ReplicationStats;
  /** Takes one more waiting operation, or answers the client 'busy' and returns false. */
  admitWaiter(ref: ClientRef): boolean;
}

/**
 * The reads of the Hermes data plane (docs/ARCHITECTURE.md, "Reads"), served by this replica
 * alone: a Valid (or absent) key at once; a key that is not Valid once it is Valid again; under
 * REnf, a Valid value once it is at DP. Part of Replication, on the replica's thread.
 */
export class LocalReads {
  constructor(private readonly parts: LocalReadsParts) {}

  /** Serves a read locally if the key is Valid (or absent); otherwise it waits for Valid. */
  read(ref: ClientRef, key: string): void {
    this.#read(ref, key, this.parts.records.get(key));
  }

  /**
   * Reads of one get message, as `read` each. Every key is looked up, then every value's length
   * read, before any is served: each step is a chain of dependent cache misses (slot, record,
   * stored key, value), and independent chains overlap when taken side by side.
   */
  readAll(client: ActorId, items: readonly GetItem[]): void {
    const records = new Array<HeldRecord | undefined>(items.length);
    this.parts.records.getAll(items, records);
    // Counted (a stat), which also keeps the compiler from dropping these loads as unused.
    let bytes = 0;
    for (let i = 0; i < items.length; i++) bytes += records[i]?.value.length ?? 0;
    this.parts.stats.getValueBytes += bytes;
    for (let i = 0; i < items.length; i++) {
      const { reqId, key } = items[i] as GetItem;
      this.#read({ client, reqId }, key, records[i]);
    }
  }

  /** `record`: the key's. */
  #read(ref: ClientRef, key: string, record: HeldRecord | undefined): void {
    const { host, durability, waiting, stats } = this.parts;
    if (!record || record.state === 'valid' || host.readWhileInvalid) {
      if (record && host.model === 'renf' && !durability.isDurable(key, record.ts, record)) {
        // REnf returns only durable values: wait for this one's DP (DURABLE comes within a bound).
        if (!this.parts.admitWaiter(ref)) return;
        stats.readsWaitedDurable++;
        waiting.readDurable(key, ref, host.now());
        return;
      }
      stats.readsServed++;
      host.replyGet(ref, record?.value);
      return;
    }
    if (!this.parts.admitWaiter(ref)) return;
    stats.readsWaited++;
    waiting.read(key, ref);
  }

  /** The key is Valid now: the reads waiting for that are served. */
  drainValid(key: string): void {
    // Through `read` again: under REnf a Valid value that is not at DP still waits.
    for (const ref of this.parts.waiting.takeReads(key) ?? []) this.read(ref, key);
  }

  /** The DP of `key` advanced: REnf reads waiting on it are served (or wait on, if still not). */
  drainDurable(key: string, record: HeldRecord | undefined): void {
    if (!this.parts.waiting.anyForDp) return;
    if (
      record &&
      record.state === 'valid' &&
      !this.parts.durability.isDurable(key, record.ts, record)
    )
      return;
    for (const ref of this.parts.waiting.takeDurableReads(key) ?? []) this.read(ref, key);
  }

  /**
   * REnf reads waiting past a retransmit period track the DP themselves (nobody else may); at
   * most `limit` keys.
   */
  adoptWaitedDurable(now: number, limit: number): void {
    const { host, records, durability, waiting } = this.parts;
    for (const key of waiting.durableSince(now - host.timing.retransmitMs, limit)) {
      const record = records.get(key);
      if (record?.state === 'valid') durability.trackers.adopt(key, record.ts);
    }
  }
}
