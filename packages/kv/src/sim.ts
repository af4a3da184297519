/**
 * `@heal/kv/sim`: a cluster of replicas in the deterministic simulator, its workload, the
 * checks simulation tests end with (linearizable history, replicas equal), and the steps and
 * checks of a recovery scenario.
 */
export * from './cluster/cluster-config.js';
export * from './cluster/verify.js';
export * from './cluster/sim-cluster.js';
export * from './cluster/cost-profile.js';
export * from './cluster/charged-storage.js';
export * from './cluster/sim-load.js';
export * from './cluster/sim-checks.js';
export * from './cluster/sim-recovery.js';
