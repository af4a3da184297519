/**
 * `@heal/kv/replica-module`: the actor module of a replica with kv's built-in `copy` recovery,
 * as its default export: what a worker thread imports when a ThreadCluster runs kv alone
 * (KV_REPLICA_MODULE). Made here, not in protocol/replica-module.ts, so that a module built
 * with other strategies (@heal/heal's) does not build this one's codec too.
 */
import { createReplicaModule, type ReplicaModule } from './protocol/replica-module.js';
import { copyRecovery } from './recovery/copy-recovery.js';

/** Replicas with the built-in `copy` recovery (what `kv` alone provides). */
export const kvReplicaModule: ReplicaModule = createReplicaModule([copyRecovery]);
export default kvReplicaModule;
