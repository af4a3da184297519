/**
 * `@heal/kv/sim`: a cluster of replicas in the deterministic simulator, its workload, and the
 * checks simulation tests end with (linearizable history, replicas equal).
 */
export * from './cluster/cluster-config.js';
export * from './cluster/verify.js';
export * from './cluster/sim-cluster.js';
export * from './cluster/cost-profile.js';
export * from './cluster/charged-storage.js';
export * from './cluster/sim-load.js';
export * from './cluster/sim-checks.js';
