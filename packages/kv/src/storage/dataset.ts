import { byteStringOf, type ByteString } from '@heal/actors/core';
import { fmix32 } from '@heal/base';
import type { KeyRecord } from './key-record.js';
import type { KvStorage } from './kv-storage.js';

/**
 * The initial contents every replica starts from (a benchmark's loaded dataset), generated
 * in place instead of written through the protocol: `keys` records `datasetKey(i)`, each
 * Valid at ts (1, 0) with no write number, value sizes drawn per key from `valueSizes`.
 * Serializable, so worker threads get it in their config.
 */
export interface DatasetSpec {
  readonly keys: number;
  /** Value sizes in bytes and their weights (a key's size is a deterministic draw by index). */
  readonly valueSizes: { readonly bytes: readonly number[]; readonly weights: readonly number[] };
}

export const DATASET_KEYS_MAX = 50_000_000;
/** The ts of every dataset record: below any write's (a first write takes version 2). */
export const DATASET_TS = Object.freeze({ version: 1, cid: 0 });

export function datasetKey(index: number): string {
  return `k${index}`;
}

export function validateDataset(spec: DatasetSpec): DatasetSpec {
  if (!Number.isInteger(spec.keys) || spec.keys < 0 || spec.keys > DATASET_KEYS_MAX) {
    throw new RangeError(
      `dataset.keys must be an integer in [0, ${DATASET_KEYS_MAX}], got ${String(spec.keys)}`,
    );
  }
  const { bytes, weights } = spec.valueSizes ?? {};
  if (
    !Array.isArray(bytes) ||
    !Array.isArray(weights) ||
    bytes.length === 0 ||
    bytes.length !== weights.length
  ) {
    throw new RangeError(
      'dataset.valueSizes must have non-empty bytes and weights arrays of equal length',
    );
  }
  bytes.forEach((b, i) => {
    if (!Number.isInteger(b) || b < 0 || b > 1 << 20)
      throw new RangeError(
        `dataset.valueSizes.bytes[${i}] must be an integer in [0, 1 MiB], got ${String(b)}`,
      );
  });
  weights.forEach((w, i) => {
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0)
      throw new RangeError(
        `dataset.valueSizes.weights[${i}] must be a finite number >= 0, got ${String(w)}`,
      );
  });
  if (!weights.some((w) => w > 0))
    throw new RangeError('dataset.valueSizes.weights must have a positive entry');
  return spec;
}

/** A 32-bit mix of the key index (splitmix-style), so sizes do not follow key order. */
function mix32(index: number): number {
  return fmix32(index ^ 0x9e3779b9) >>> 0;
}

const totals = new WeakMap<DatasetSpec['valueSizes'], number>();

/** Value size of dataset key `index`: a weighted draw made deterministic by the index. */
export function datasetValueBytes(spec: DatasetSpec, index: number): number {
  const { bytes, weights } = spec.valueSizes;
  let total = totals.get(spec.valueSizes);
  if (total === undefined) {
    total = weights.reduce((a, w) => a + w, 0);
    totals.set(spec.valueSizes, total);
  }
  let u = (mix32(index) / 2 ** 32) * total;
  for (let i = 0; i < bytes.length; i++) {
    u -= weights[i] as number;
    if (u < 0) return bytes[i] as number;
  }
  return bytes[bytes.length - 1] as number;
}

/** Dataset values are shared: one string per size and letter. */
const values = new Map<number, ByteString>();

/** The value of dataset key `index`: one letter repeated (printable, so histories show it). */
export function datasetValue(spec: DatasetSpec, index: number): ByteString {
  const bytes = datasetValueBytes(spec, index);
  const letter = index % 26;
  const id = bytes * 26 + letter;
  let value = values.get(id);
  if (!value) {
    value = byteStringOf(Buffer.alloc(bytes, 0x61 + letter));
    values.set(id, value);
  }
  return value;
}

/** The index of a dataset key, or undefined for a key outside the dataset. */
export function datasetIndex(spec: DatasetSpec, key: string): number | undefined {
  if (!/^k(0|[1-9][0-9]*)$/.test(key)) return undefined;
  const index = Number(key.slice(1));
  return index < spec.keys ? index : undefined;
}

/** Writes every record of `spec` to `storage`, then syncs: a dataset written record by record. */
export function writeDatasetRecords(
  storage: Pick<KvStorage, 'write' | 'sync'>,
  spec: DatasetSpec,
): void {
  for (const record of datasetRecords(spec)) storage.write(record);
  storage.sync();
}

/** The records of the dataset, generated lazily. */
export function* datasetRecords(spec: DatasetSpec): IterableIterator<KeyRecord> {
  for (let i = 0; i < spec.keys; i++) {
    yield {
      key: datasetKey(i),
      ts: { ...DATASET_TS },
      value: datasetValue(spec, i),
      state: 'valid',
      origin: 0,
      seq: 0,
    };
  }
}
