/**
 * `@heal/kv/threads`: a cluster of replicas on worker threads, driven from the calling thread
 * (its workers load `KV_REPLICA_MODULE` or the module given, never this entry).
 */
export * from './cluster/cluster-config.js';
export * from './cluster/thread-cluster.js';
