/**
 * `@heal/kv/replica`: what a replica is made of, and all a replica worker loads from this
 * package: the protocol (timestamps, views, messages, membership and replication inside
 * `Replica`), the recovery-strategy interface with the built-in recovery (`full-copy`) and the
 * catch-up machinery it shares with other strategies, the storage media, and
 * `createReplicaModule`. No clients, clusters, simulator or checker.
 */
export * from './protocol/timestamp.js';
export * from './protocol/view.js';
export * from './protocol/timing.js';
export * from './protocol/messages.js';
export * from './protocol/recovery-strategy.js';
export * from './protocol/replica.js';
export * from './protocol/replica-module.js';
export { MAX_WAITING_OPS } from './protocol/replication.js';
export { SEQ_INCARNATION_STRIDE, SEQ_RESERVE_BLOCK } from './protocol/write-numbers.js';
export * from './protocol/version-vector.js';
export * from './digest/bucket-digest.js';
export * from './protocol/durability.js';
export * from './protocol/dp-trackers.js';
export * from './protocol/persist-scopes.js';
export * from './storage/key-record.js';
export * from './storage/dataset.js';
export * from './storage/kv-storage.js';
export * from './storage/memory-storage.js';
export * from './storage/storage-error.js';
export * from './storage/wal-storage.js';
export * from './storage/pmem-storage.js';
export { WAL_KEY_BYTES_MAX, WAL_VALUE_BYTES_MAX } from './storage/wal-format.js';
export * from './recovery/strategy-options.js';
export * from './recovery/recovery-meter.js';
export * from './recovery/catch-up-messages.js';
export * from './recovery/catch-up-source.js';
export * from './recovery/catch-up-joiner.js';
export * from './recovery/catch-up-recovery.js';
export * from './recovery/full-copy.js';
export * from './loopback/loopback-cluster.js';
export * from './loopback/replica-warm-up.js';
