/**
 * `@heal/heal/replica-module`: the replica actor module with every recovery strategy, which each
 * replica worker of a ThreadCluster imports by URL (HEAL_REPLICA_MODULE). It and the strategies
 * import only `@heal/kv/replica` and `@heal/actors/core` of the other packages, so a replica
 * worker loads no simulator, checker, cluster, client or load generator
 * (test/integration/replica-worker-imports.test.ts checks it).
 */
import type { ActorModuleRef } from '@heal/actors/core';
import {
  createReplicaModule,
  fullCopyRecovery,
  type RecoveryStrategyFactory,
  type ReplicaModule,
} from '@heal/kv/replica';
import { healRecovery } from './heal-recovery.js';
import {
  leaderIncrementalBudgetRecovery,
  leaderIncrementalRecovery,
} from './leader-incremental.js';

/**
 * Every strategy a cluster may run, side by side in one framework (ARCHITECTURE.md §6);
 * `full-copy` is kv's built-in recovery.
 */
export const RECOVERY_STRATEGIES: readonly RecoveryStrategyFactory[] = [
  healRecovery,
  fullCopyRecovery,
  leaderIncrementalRecovery,
  leaderIncrementalBudgetRecovery,
];

/** The strategies `heal recover` and the demo compare by default. */
export const COMPARED_STRATEGIES = ['heal', 'full-copy', 'leader-incremental'] as const;
/** Every strategy a run may name (leader-incremental also with the shared budget, ARCHITECTURE.md §6). */
export const RUNNABLE_STRATEGIES = [...COMPARED_STRATEGIES, 'leader-incremental-budget'] as const;

/** Replicas with every recovery strategy (the default export, for worker threads to import). */
export const healReplicaModule: ReplicaModule = createReplicaModule(RECOVERY_STRATEGIES);
export default healReplicaModule;

/** This module by URL, for ThreadCluster's workers. */
export const HEAL_REPLICA_MODULE: ActorModuleRef = {
  url: new URL('./heal-module.js', import.meta.url).href,
};
