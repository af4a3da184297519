import type { KeyRecord } from '../storage/key-record.js';
import type { KvStorage } from '../storage/kv-storage.js';
import type { Durability, HeldRecord } from './durability.js';
import type { HeldRecords } from './held-records.js';
import type { UndurableList } from './undurable-list.js';

/**
 * The records a start of this replica loaded (docs/ARCHITECTURE.md, "Media and what a crash
 * leaves"): held in place, those not Valid back Invalid, and whether they are known at DP here.
 * Part of Replication, on the replica's thread.
 */
export class LoadedRecords {
  /**
   * The records loaded from the medium at this start are not known at DP here (a restart lost
   * what this replica knew of their DP); false when they are a dataset every replica holds.
   */
  #undurable = false;

  constructor(
    private readonly records: HeldRecords,
    private readonly durability: Durability,
    private readonly undurableList: UndurableList,
  ) {}

  /**
   * Loads what the medium kept, in place: its records stay on it and are held on first touch
   * (see HeldRecords), except those not Valid, which the medium lists (pmem: from its bitmap)
   * and which come back Invalid now, to be replayed. Nothing else is read per record.
   * `isDatasetKey`: they are a dataset every replica starts from, at DP everywhere.
   */
  load(storage: KvStorage, isDatasetKey?: (key: string) => boolean): void {
    const notValid = storage.notValid();
    this.#loadedFrom(isDatasetKey);
    this.records.attach(storage, storage.size - notValid.length, (record) =>
      this.#materialize(record),
    );
    for (const record of notValid) this.records.set(this.#materialize(record));
  }

  /** Holds `records` in memory now: a dataset generated in place (its medium keeps nothing). */
  loadRecords(records: Iterable<KeyRecord>, isDatasetKey: (key: string) => boolean): void {
    this.#loadedFrom(isDatasetKey);
    for (const record of records) this.records.set(this.#materialize(record));
  }

  #loadedFrom(isDatasetKey: ((key: string) => boolean) | undefined): void {
    if (isDatasetKey) this.durability.loadedDataset(isDatasetKey);
    this.#undurable = isDatasetKey === undefined;
  }

  /** The record to hold for one the medium kept: not Valid comes back Invalid. */
  #materialize(loaded: KeyRecord): HeldRecord {
    if (loaded.state !== 'valid') loaded.state = 'invalid';
    const held = this.durability.held(loaded, undefined, this.#undurable);
    if (this.#undurable) this.undurableList.add(held);
    return held;
  }

  /**
   * The records loaded at a restart and never touched since (still only on the medium): not
   * known at DP here, as any record loaded at a restart, so a recovery hand-off counts them (see
   * Replication.notDurable). Read from the medium: each call reads them all.
   * A view change does not adopt them (adoption only tracks a DP nobody may be tracking, for
   * liveness): each replica that took such a write and does not know it durable adopts it when
   * its coordinator leaves, and a read that waits here for its DP adopts it (see LocalReads).
   */
  coldNotDurable(): Iterable<KeyRecord> {
    return this.#undurable ? this.records.cold() : [];
  }
}
