/**
 * `@heal/kv/replica-module`: the actor module of a replica with kv's built-in `full-copy` recovery,
 * as its default export: what a worker thread imports when a ThreadCluster runs kv alone
 * (KV_REPLICA_MODULE). Made here, not in protocol/replica-module.ts, so that a module built
 * with other strategies (@heal/heal's) does not build this one's codec too.
 */
import { createReplicaModule, type ReplicaModule } from './protocol/replica-module.js';
import { fullCopyRecovery } from './recovery/full-copy.js';

/** Replicas with the built-in `full-copy` recovery (what `kv` alone provides). */
export const kvReplicaModule: ReplicaModule = createReplicaModule([fullCopyRecovery]);
export default kvReplicaModule;
