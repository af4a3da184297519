import type { CrashableStorage } from '@heal/actors/core';
import type { KeyRecord } from '../storage/key-record.js';
import type { KvStorage } from '../storage/kv-storage.js';
import type { ChargeSwitch, MediumCosts } from './cost-profile.js';

const NS_PER_MS = 1e6;

/** Bytes of a record a medium stores besides its fixed fields: key and value (one byte a char). */
export function recordBytes(record: Pick<KeyRecord, 'key' | 'value'>): number {
  return record.key.length + record.value.length;
}

/**
 * A medium whose every operation costs CPU time in the simulator's CPU model: it does what the
 * medium it wraps does, and charges the running job of its replica per operation and per byte
 * (MediumCosts), a sync also per record and byte written since the last one. A load charges
 * the medium's open, then each record as it is read, with what building the replica's state
 * from it costs (`loadRecordNs`, measured per strategy). The wrapped medium is untouched: the
 * simulator installs this around it (SimCluster with a cost profile). Charges outside one of
 * its replica's jobs (a test reading the medium) are ignored by the simulator.
 */
export class ChargedStorage implements KvStorage, CrashableStorage {
  readonly medium: string;
  #unsyncedRecords = 0;
  #unsyncedBytes = 0;

  constructor(
    readonly inner: KvStorage,
    readonly costs: MediumCosts,
    readonly loadRecordNs: number,
    readonly charge: (ms: number) => void,
    readonly charging: ChargeSwitch,
  ) {
    this.medium = inner.medium;
  }

  #charge(ns: number): void {
    if (this.charging.on && ns > 0) this.charge(ns / NS_PER_MS);
  }

  load(): Iterable<KeyRecord> {
    this.#charge(this.costs.openNs);
    const records = this.inner.load();
    const { ns, nsPerByte } = this.costs.load;
    const perRecordNs = ns + this.loadRecordNs;
    const charge = (ms: number): void => this.#charge(ms);
    return {
      *[Symbol.iterator]() {
        for (const record of records) {
          charge(perRecordNs + nsPerByte * recordBytes(record));
          yield record;
        }
      },
    };
  }

  write(record: KeyRecord): void {
    const bytes = recordBytes(record);
    this.#charge(this.costs.write.ns + this.costs.write.nsPerByte * bytes);
    this.#unsyncedRecords++;
    this.#unsyncedBytes += bytes;
    this.inner.write(record);
  }

  sync(versionVector?: Uint8Array): void {
    const { ns, nsPerRecord, nsPerByte } = this.costs.sync;
    this.#charge(ns + nsPerRecord * this.#unsyncedRecords + nsPerByte * this.#unsyncedBytes);
    this.#unsyncedRecords = 0;
    this.#unsyncedBytes = 0;
    this.inner.sync(versionVector);
  }

  loadVersionVector(): Uint8Array | undefined {
    return this.inner.loadVersionVector();
  }

  loadSeqHighWater(): number {
    return this.inner.loadSeqHighWater();
  }

  saveSeqHighWater(seq: number): void {
    this.#charge(this.costs.saveNs);
    this.inner.saveSeqHighWater(seq);
  }

  loadEpoch(): number {
    return this.inner.loadEpoch();
  }

  saveEpoch(epoch: number): void {
    this.#charge(this.costs.saveNs);
    this.inner.saveEpoch(epoch);
  }

  close(): void {
    this.inner.close();
  }

  /** A crash reaches the wrapped medium (if it can be told); what was not synced is gone. */
  crash(seed: number): void {
    this.#unsyncedRecords = 0;
    this.#unsyncedBytes = 0;
    const inner = this.inner as Partial<CrashableStorage>;
    if (typeof inner.crash === 'function') inner.crash(seed);
  }
}
