import type { Durability, HeldRecord } from './durability.js';

/**
 * The records that may not be at DP at one replica (ARCHITECTURE.md §6: what a replica that left
 * may have missed or lost; a Buddy gets them as handoffs). A superset: each record at most once
 * (`undurableListed`), filtered and pruned when read. A list, not a set of keys: every write
 * takes its key off DP and back at each replica, and two lookups in a 100k-entry set cost more
 * than a flag. Owned by the replica's thread (part of Replication).
 */
export class UndurableList {
  #records: HeldRecord[] = [];

  constructor(readonly durability: Durability) {}

  /** `record` may not be at DP (not Valid, or its ts not known durable). */
  add(record: HeldRecord): void {
    record.mayBeUndurable = true;
    if (record.undurableListed) return;
    record.undurableListed = true;
    this.#records.push(record);
  }

  /** After a change of `record`: listed if it may not be at DP. */
  changed(record: HeldRecord): void {
    if (
      !record.mayBeUndurable &&
      (record.state !== 'valid' || !this.durability.isDurable(record.key, record.ts, record))
    )
      this.add(record);
  }

  /** `record` reached DP (a Valid one). */
  durable(record: HeldRecord): void {
    if (
      record.mayBeUndurable &&
      record.state === 'valid' &&
      this.durability.isDurable(record.key, record.ts, record)
    ) {
      record.mayBeUndurable = false;
    }
  }

  /**
   * Records whose write is not known to be at DP here: not Valid, or Valid without a DURABLE
   * (or this replica's own DP) for its ts. Walks only the records that changed since they were
   * last known durable, and keeps only these listed.
   */
  notDurable(): HeldRecord[] {
    const kept: HeldRecord[] = [];
    for (const record of this.#records) {
      if (
        record.mayBeUndurable &&
        (record.state !== 'valid' || !this.durability.isDurable(record.key, record.ts, record))
      ) {
        kept.push(record);
      } else {
        record.mayBeUndurable = false;
        record.undurableListed = false;
      }
    }
    this.#records = kept;
    return [...kept];
  }
}
