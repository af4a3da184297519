import type { KvStorage } from '../storage/kv-storage.js';
import type { ClientService } from './client-service.js';
import type { Membership } from './membership.js';
import type { Reconciliation } from './reconciliation.js';
import {
  recoveryReportStats,
  type RecoveryReport,
  type RecoveryStrategy,
} from './recovery-strategy.js';
import type { Replication } from './replication.js';

/** The parts of a replica its stats read. */
export interface ReplicaStatsParts {
  counters: Readonly<Record<string, number>>;
  clients: ClientService;
  replication: Replication;
  membership: Membership;
  strategy: RecoveryStrategy;
  reconciliation: Reconciliation | undefined;
  recovering: boolean;
  nowMs: number;
  storage: KvStorage;
  recoveryReport(): RecoveryReport | undefined;
}

/** What opening the medium found and cost, as stats (`medium.` keys). */
function mediumReport(report: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(report)) out[`medium.${k}`] = v;
  return out;
}

/** A replica's stats: its parts' counters and its state now, by name. */
export function replicaStats(p: ReplicaStatsParts): Record<string, number> {
  const { replication, membership } = p;
  const { durability } = replication;
  const lease = membership.leaseInfo();
  return {
    ...p.counters,
    ...p.clients.stats,
    ...replication.stats,
    ...durability.stats,
    ...durability.trackers.partiallyPersistedStats(),
    ...durability.trackers.stats,
    ...durability.scopes.stats,
    ...membership.stats,
    ...(p.strategy.stats?.() ?? {}),
    ...(p.reconciliation?.stats ?? {}),
    epoch: membership.view.epoch,
    members: membership.view.members.length,
    admitted: membership.admitted ? 1 : 0,
    recovering: p.recovering ? 1 : 0,
    holdsLease: lease.epoch === membership.view.epoch && p.nowMs < lease.untilMs ? 1 : 0,
    keys: replication.records.size,
    // Loaded at a restart and not touched since: on the medium only (see HeldRecords).
    coldKeys: replication.records.coldSize,
    pendingWrites: replication.pendingWrites,
    ...replication.timeouts(),
    invalidKeys: replication.invalidKeys,
    leaseWaiters: p.clients.leaseWaiters,
    ...mediumReport(p.storage.openReport()),
    ...recoveryReportStats(p.recoveryReport()),
  };
}
