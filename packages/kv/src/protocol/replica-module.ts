import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Codec, type ActorId, type ActorModule } from '@heal/actors/core';
import { LATENCY_OFF, PTable, type PTableLayout } from '@heal/pmem';
import { MemoryStorage } from '../storage/memory-storage.js';
import { validateDataset } from '../storage/dataset.js';
import type { KvStorage } from '../storage/kv-storage.js';
import { PmemStorage, pmemDatasetImageIn } from '../storage/pmem-storage.js';
import { resolvePmemLayout } from '../storage/pmem-format.js';
import { PMEM_IMAGE_KEYS_MIN } from '../storage/pmem-dataset-image.js';
import { WalStorage } from '../storage/wal-storage.js';
import { PERSISTENCY_MODELS } from './durability.js';
import { KV_MESSAGES } from './messages.js';
import type { RecoveryStrategyFactory } from './recovery-strategy.js';
import { Replica, type KvWire, type ReplicaConfig } from './replica.js';
import { validateTiming } from './timing.js';
import { warmUpReplica } from '../loopback/replica-warm-up.js';

export type ReplicaModule = ActorModule<KvWire, KvStorage, ReplicaConfig>;

export const REPLICA_MEDIA: readonly ReplicaConfig['medium'][] = [
  'volatile',
  'memory-durable',
  'wal',
  'pmem',
];

/** The file or directory of replica `self`'s medium under `dataDir` (file-backed media only). */
export function replicaMediumPath(dataDir: string, self: ActorId, medium: 'wal' | 'pmem'): string {
  return join(dataDir, `replica-${self}.${medium}`);
}

/**
 * Opens (creating if needed) the medium of replica `self`: in threads at every (re)start, in
 * the simulator once (it then survives crashes as its `crash` dictates).
 */
export function createStorage(self: ActorId, config: ReplicaConfig): KvStorage {
  validateMedium(config);
  switch (config.medium) {
    case 'volatile':
    case 'memory-durable':
      return new MemoryStorage(config.medium === 'memory-durable');
    case 'wal':
    case 'pmem': {
      const dataDir = config.dataDir as string;
      mkdirSync(dataDir, { recursive: true });
      const path = replicaMediumPath(dataDir, self, config.medium);
      return config.medium === 'wal' ? new WalStorage(path) : openPmem(path, config);
    }
  }
}

/** The table layout `config` asks for (the rest: pmem-format.ts's defaults). */
function pmemLayoutOf(
  config: Pick<ReplicaConfig, 'pmemCapacity' | 'pmemValueBytesMax'>,
): Partial<PTableLayout> {
  return {
    ...(config.pmemCapacity !== undefined ? { capacity: config.pmemCapacity } : {}),
    ...(config.pmemValueBytesMax !== undefined ? { valueMaxBytes: config.pmemValueBytesMax } : {}),
  };
}

/** Bytes of the pmem file a replica of `config` creates (its table's layout). */
export function pmemTableBytes(
  config: Pick<ReplicaConfig, 'pmemCapacity' | 'pmemValueBytesMax'>,
): number {
  return PTable.bytesFor(resolvePmemLayout(pmemLayoutOf(config)));
}

/** A pmem table at `path` as `config` sizes it. */
function openPmem(path: string, config: ReplicaConfig): PmemStorage {
  const layout = pmemLayoutOf(config);
  return new PmemStorage(path, {
    ...(Object.keys(layout).length > 0 ? { layout } : {}),
    region: {
      ...(config.pmemLatency === false ? { latency: LATENCY_OFF } : {}),
      crashable: config.pmemCrashSimulation !== false,
    },
    inMemory: config.pmemInMemory === true,
  });
}

/**
 * Builds, once, what every replica's first start would otherwise build for itself: on pmem, the
 * image of the dataset its new table copies (PmemStorage.writeDataset). For runtimes that start
 * the replicas at once (threads), so that one image is built instead of one per replica.
 */
export function prepareDatasetImage(config: ReplicaConfig): void {
  const { dataset, dataDir } = config;
  if (config.medium !== 'pmem' || !dataset || dataset.keys < PMEM_IMAGE_KEYS_MIN) return;
  validateMedium(config);
  mkdirSync(dataDir as string, { recursive: true });
  pmemDatasetImageIn(dataDir as string, dataset, resolvePmemLayout(pmemLayoutOf(config)));
}

/**
 * Checks `medium` and `dataDir` (ignored by the memory media). createStorage runs before
 * createActor, so it checks too.
 */
export function validateMedium(config: Pick<ReplicaConfig, 'medium' | 'dataDir'>): void {
  if (!REPLICA_MEDIA.includes(config.medium)) {
    throw new RangeError(`medium must be ${REPLICA_MEDIA.join('|')}, got ${String(config.medium)}`);
  }
  const fileBacked = config.medium === 'wal' || config.medium === 'pmem';
  if (fileBacked && (typeof config.dataDir !== 'string' || config.dataDir.length === 0)) {
    throw new RangeError(
      `dataDir must be a non-empty directory path for medium ${config.medium}, got ${String(config.dataDir)}`,
    );
  }
}

/** Checks a replica config, naming the field that is wrong. */
export function validateReplicaConfig(
  config: ReplicaConfig,
  strategies: readonly string[],
): ReplicaConfig {
  if (!Number.isInteger(config.replicas) || config.replicas < 1 || config.replicas > 64) {
    throw new RangeError(`replicas must be an integer in [1, 64], got ${String(config.replicas)}`);
  }
  if (!strategies.includes(config.strategy)) {
    throw new RangeError(
      `strategy must be one of ${strategies.join('|')}, got ${String(config.strategy)}`,
    );
  }
  validateMedium(config);
  const capacity = config.pmemCapacity;
  if (capacity !== undefined && (!Number.isInteger(capacity) || capacity < 1)) {
    throw new RangeError(`pmemCapacity must be a positive integer, got ${String(capacity)}`);
  }
  const valueMax = config.pmemValueBytesMax;
  if (valueMax !== undefined && (!Number.isInteger(valueMax) || valueMax < 1)) {
    throw new RangeError(`pmemValueBytesMax must be a positive integer, got ${String(valueMax)}`);
  }
  for (const flag of ['pmemLatency', 'pmemCrashSimulation', 'pmemInMemory'] as const) {
    if (config[flag] !== undefined && typeof config[flag] !== 'boolean') {
      throw new RangeError(`${flag} must be a boolean, got ${String(config[flag])}`);
    }
  }
  if (config.model !== undefined && !PERSISTENCY_MODELS.includes(config.model)) {
    throw new RangeError(
      `model must be ${PERSISTENCY_MODELS.join('|')}, got ${String(config.model)}`,
    );
  }
  validateTiming(config.timing);
  if (config.dataset !== undefined) validateDataset(config.dataset);
  return config;
}

/**
 * The actor module of a replica with the given recovery strategies available; its codec knows
 * the protocol's messages and every strategy's.
 */
export function createReplicaModule(strategies: readonly RecoveryStrategyFactory[]): ReplicaModule {
  const byName = new Map(strategies.map((s) => [s.name, s]));
  // Variants of one strategy share its message definitions: each goes in once.
  const codec = new Codec<KvWire>([
    ...KV_MESSAGES,
    ...new Set(strategies.flatMap((s) => s.messages)),
  ]);
  const module: ReplicaModule = {
    codec,
    createActor: (self, config) => {
      validateReplicaConfig(config, [...byName.keys()]);
      return new Replica(self, config, byName.get(config.strategy) as RecoveryStrategyFactory);
    },
    createStorage,
    warmUp: (config, interrupted) => warmUpReplica(module, config, undefined, interrupted),
  };
  return module;
}
