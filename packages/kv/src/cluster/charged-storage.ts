import type { CrashableStorage } from '@heal/actors/core';
import type { KeyRecord } from '../storage/key-record.js';
import { datasetRecords, type DatasetSpec } from '../storage/dataset.js';
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
 * (MediumCosts), a sync also per record and byte written since the last one. A start opens the
 * medium: its first operation after the medium was made (or crashed) charges the open, per
 * record the medium holds (`openNsPerRecord`: what the medium does per record when it opens, a
 * wal's replay) and what the replica's start does per record (`startRecordNs`). Records are
 * then read in place, as the replica touches them: each record `get`, `records`,
 * `recordsInBuckets` or `notValid` returns is charged as read (`read`), when it is returned.
 * The wrapped medium is untouched: the simulator installs this around it (SimCluster with a
 * cost profile). Charges outside one of its replica's jobs (a test reading the medium) are
 * ignored by the simulator.
 */
export class ChargedStorage implements KvStorage, CrashableStorage {
  readonly medium: string;
  #unsyncedRecords = 0;
  #unsyncedBytes = 0;
  /** The medium was opened since it was made or crashed (its open was charged). */
  #opened = false;

  constructor(
    readonly inner: KvStorage,
    readonly costs: MediumCosts,
    readonly startRecordNs: number,
    readonly charge: (ms: number) => void,
    readonly charging: ChargeSwitch,
  ) {
    this.medium = inner.medium;
  }

  #charge(ns: number): void {
    if (this.charging.on && ns > 0) this.charge(ns / NS_PER_MS);
  }

  /** The first operation of a start opens the medium. */
  #open(): void {
    if (this.#opened) return;
    this.#opened = true;
    this.#charge(
      this.costs.openNs + (this.costs.openNsPerRecord + this.startRecordNs) * this.inner.size,
    );
  }

  #read(record: KeyRecord): KeyRecord {
    this.#charge(this.costs.read.ns + this.costs.read.nsPerByte * recordBytes(record));
    return record;
  }

  *#readAll(records: Iterable<KeyRecord>): IterableIterator<KeyRecord> {
    for (const record of records) yield this.#read(record);
  }

  get size(): number {
    this.#open();
    return this.inner.size;
  }

  get(key: string): KeyRecord | undefined {
    this.#open();
    const record = this.inner.get(key);
    return record === undefined ? undefined : this.#read(record);
  }

  records(): IterableIterator<KeyRecord> {
    this.#open();
    return this.#readAll(this.inner.records());
  }

  recordsInBuckets(buckets: ReadonlySet<number>): IterableIterator<KeyRecord> {
    this.#open();
    return this.#readAll(this.inner.recordsInBuckets(buckets));
  }

  notValid(): KeyRecord[] {
    this.#open();
    return this.inner.notValid().map((record) => this.#read(record));
  }

  loadDigest(): Uint32Array | undefined {
    this.#open();
    return this.inner.loadDigest();
  }

  openReport(): Readonly<Record<string, number>> {
    return this.inner.openReport();
  }

  write(record: KeyRecord): void {
    this.#open();
    this.#chargeWrite(record);
    this.inner.write(record);
  }

  /** Charged as writing each record and a sync would be: the same virtual time either way. */
  writeDataset(dataset: DatasetSpec): void {
    this.#open();
    const inner = this.inner;
    for (const record of datasetRecords(dataset)) {
      this.#chargeWrite(record);
      if (!inner.writeDataset) inner.write(record);
    }
    inner.writeDataset?.(dataset);
    this.sync();
  }

  #chargeWrite(record: KeyRecord): void {
    const bytes = recordBytes(record);
    this.#charge(this.costs.write.ns + this.costs.write.nsPerByte * bytes);
    this.#unsyncedRecords++;
    this.#unsyncedBytes += bytes;
  }

  sync(versionVector?: Uint8Array): void {
    this.#open();
    const { ns, nsPerRecord, nsPerByte } = this.costs.sync;
    this.#charge(ns + nsPerRecord * this.#unsyncedRecords + nsPerByte * this.#unsyncedBytes);
    this.#unsyncedRecords = 0;
    this.#unsyncedBytes = 0;
    this.inner.sync(versionVector);
  }

  loadVersionVector(): Uint8Array | undefined {
    this.#open();
    return this.inner.loadVersionVector();
  }

  loadSeqHighWater(): number {
    this.#open();
    return this.inner.loadSeqHighWater();
  }

  saveSeqHighWater(seq: number): void {
    this.#open();
    this.#charge(this.costs.saveNs);
    this.inner.saveSeqHighWater(seq);
  }

  loadEpoch(): number {
    this.#open();
    return this.inner.loadEpoch();
  }

  saveEpoch(epoch: number): void {
    this.#open();
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
    this.#opened = false;
    const inner = this.inner as Partial<CrashableStorage>;
    if (typeof inner.crash === 'function') inner.crash(seed);
  }
}
