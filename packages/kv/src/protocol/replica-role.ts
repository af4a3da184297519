import assert from 'node:assert/strict';

/**
 * What a replica is to its cluster (ARCHITECTURE.md §4), and so what it does:
 * - `full`: a member that serves reads under a lease, coordinates writes and replays;
 * - `shadow`: a ShadowReplica, admitted after a restart or a removal and recovering through its
 *   strategy: it takes and acks every INV, answers reads not-serving and forwards writes;
 * - `reconciling`: admitted by a cold-start view, pulling every member's records (there is no
 *   full member to recover from); otherwise as a shadow;
 * - `joining`: not a member of its view (restarted, or removed while alive): it only asks to be
 *   admitted, answers reads not-serving and forwards writes.
 */
export type ReplicaRole = 'full' | 'shadow' | 'reconciling' | 'joining';

/**
 * The moves a view install or a finished recovery makes. A replica joins only once it installed
 * a view without it, so it is admitted from `joining`; recovering ends in `full`.
 */
const NEXT: Readonly<Record<ReplicaRole, readonly ReplicaRole[]>> = {
  joining: ['shadow', 'reconciling'],
  shadow: ['full', 'joining'],
  reconciling: ['full', 'joining'],
  full: ['joining'],
};

export function assertRoleChange(from: ReplicaRole, to: ReplicaRole, self: number): void {
  assert(NEXT[from].includes(to), `replica ${self} cannot go from ${from} to ${to}`);
}

/** A member still catching up: it serves no reads and coordinates no writes. */
export function isRecovering(role: ReplicaRole): boolean {
  return role === 'shadow' || role === 'reconciling';
}
