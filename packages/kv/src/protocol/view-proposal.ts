import type { ActorId } from '@heal/actors/core';
import type { ViewValue } from './view-paxos.js';
import { isColdStartView, sameMembers, type Member, type View } from './view.js';

/** What deciding the next view reads of the replica's membership. */
export interface ProposalInput {
  readonly self: ActorId;
  readonly view: View;
  /** Replicas asking to join, by the incarnation they ask under. */
  readonly joiners: ReadonlyMap<ActorId, number>;
  readonly suspects: (id: ActorId) => boolean;
  /** Whether member `m` is known to have finished recovering. */
  readonly knownFull: (m: Member) => boolean;
}

/**
 * The view this replica would propose next, or undefined when the current one is right. Its
 * shadows are the joiners it admits and the current shadows not known to have finished (a
 * change of shadows alone is no reason for a view change: the list is only conservative).
 */
export function desiredView({
  self,
  view,
  joiners,
  suspects,
  knownFull,
}: ProposalInput): ViewValue | undefined {
  const members: Member[] = [];
  const shadows: ActorId[] = [];
  for (const m of view.members) {
    const joining = joiners.get(m.id);
    if (joining !== undefined && joining !== m.incarnation) continue; // re-admitted below
    if (m.id !== self && suspects(m.id)) continue;
    members.push(m);
    if (view.shadows.includes(m.id) && !knownFull(m)) shadows.push(m.id);
  }
  for (const [id, incarnation] of joiners) {
    members.push({ id, incarnation });
    shadows.push(id);
  }
  members.sort((a, b) => a.id - b.id);
  shadows.sort((a, b) => a - b);
  if (sameMembers(members, view.members)) return undefined;
  // No full member left to recover from: such a view would look like a cold start without
  // being one (nobody reconciled). It waits for a full member instead.
  if (isColdStartView({ epoch: 0, members, shadows })) return undefined;
  return { members, shadows };
}

/** Whether `self` proposes: the lowest-id member it does not suspect does; others only vote. */
export function isProposer(view: View, self: ActorId, suspects: (id: ActorId) => boolean): boolean {
  for (const m of view.members) {
    if (m.id === self) return true;
    if (!suspects(m.id)) return false;
  }
  return false;
}
