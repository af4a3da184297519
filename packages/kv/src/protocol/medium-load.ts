import {
  datasetIndex,
  datasetRecords,
  writeDatasetRecords,
  type DatasetSpec,
} from '../storage/dataset.js';
import type { KvStorage } from '../storage/kv-storage.js';
import type { Replication } from './replication.js';
import { seqFloor } from './write-numbers.js';

/**
 * A replica's start: loads what the medium kept into `replication`, in place (nothing per
 * record: see Replication.load), and returns the digest the medium kept of it. At a first start
 * on an empty medium, the dataset is written to it and made durable first; a medium that keeps
 * nothing (volatile) leaves it held in memory, and no digest (the strategy computes one from
 * the records).
 */
export function loadMedium(
  storage: KvStorage,
  incarnation: number,
  dataset: DatasetSpec | undefined,
  replication: Replication,
): Uint32Array | undefined {
  const floor = seqFloor(storage, incarnation);
  if (incarnation > 0 || storage.size > 0 || !dataset || dataset.keys === 0) {
    replication.load(storage, floor);
    return storage.loadDigest();
  }
  if (storage.writeDataset) storage.writeDataset(dataset);
  else writeDatasetRecords(storage, dataset);
  const isDatasetKey = (key: string): boolean => datasetIndex(dataset, key) !== undefined;
  if (storage.size === dataset.keys) {
    replication.load(storage, floor, isDatasetKey);
    return storage.loadDigest();
  }
  replication.loadRecords(datasetRecords(dataset), floor, isDatasetKey);
  return undefined;
}
