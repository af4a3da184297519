import { Codec, type ActorModule } from '@heal/actors';
import { copyRecovery } from '../recovery/copy-recovery.js';
import { MemoryStorage } from '../storage/memory-storage.js';
import type { KvStorage } from '../storage/kv-storage.js';
import { KV_MESSAGES } from './messages.js';
import type { RecoveryStrategyFactory } from './recovery-strategy.js';
import { Replica, type KvWire, type ReplicaConfig } from './replica.js';
import { validateTiming } from './timing.js';

export type ReplicaModule = ActorModule<KvWire, KvStorage, ReplicaConfig>;

/** Checks a replica config, naming the field that is wrong. */
export function validateReplicaConfig(config: ReplicaConfig, strategies: readonly string[]): ReplicaConfig {
  if (!Number.isInteger(config.replicas) || config.replicas < 1 || config.replicas > 64) {
    throw new RangeError(`replicas must be an integer in [1, 64], got ${String(config.replicas)}`);
  }
  if (!strategies.includes(config.strategy)) {
    throw new RangeError(`strategy must be one of ${strategies.join('|')}, got ${String(config.strategy)}`);
  }
  if (config.medium !== 'volatile' && config.medium !== 'memory-durable') {
    throw new RangeError(`medium must be volatile|memory-durable, got ${String(config.medium)}`);
  }
  validateTiming(config.timing);
  return config;
}

/**
 * The actor module of a replica with the given recovery strategies available; its codec knows
 * the protocol's messages and every strategy's.
 */
export function createReplicaModule(strategies: readonly RecoveryStrategyFactory[]): ReplicaModule {
  const byName = new Map(strategies.map((s) => [s.name, s]));
  const codec = new Codec<KvWire>([...KV_MESSAGES, ...strategies.flatMap((s) => s.messages)]);
  return {
    codec,
    createActor: (self, config) => {
      validateReplicaConfig(config, [...byName.keys()]);
      return new Replica(self, config, byName.get(config.strategy) as RecoveryStrategyFactory);
    },
    createStorage: (_self, config) => new MemoryStorage(config.medium === 'memory-durable'),
  };
}

/** Replicas with the built-in `copy` recovery (what `kv` alone provides). */
export const kvReplicaModule: ReplicaModule = createReplicaModule([copyRecovery]);
export default kvReplicaModule;
