import type { ActorId } from '@heal/actors/core';

/** A member of a view: a replica id and the incarnation that view admitted. */
export interface Member {
  readonly id: ActorId;
  readonly incarnation: number;
}

/**
 * A view `(epoch, members, roles)`: `shadows` are the members still recovering as far as the
 * view's proposer knew: those this view admitted, and those an earlier view admitted that had
 * not said they finished (a ShadowReplica becomes full locally; its heartbeats say so). Roles
 * that need a full replica (Buddy, helper, keeper, donor, forward target) are chosen among the
 * others, so a lagging list only narrows the choice. A view that names every member a shadow is
 * a cold start of the whole cluster (see isColdStartView).
 */
export interface View {
  readonly epoch: number;
  readonly members: readonly Member[];
  readonly shadows: readonly ActorId[];
}

export function majority(size: number): number {
  return Math.floor(size / 2) + 1;
}

export function isMember(view: View, id: ActorId): boolean {
  return view.members.some((m) => m.id === id);
}

/** A member `view` does not name a shadow: one that may serve a recovering replica. */
export function isFullMember(view: View, id: ActorId): boolean {
  return isMember(view, id) && !view.shadows.includes(id);
}

/**
 * A cold-start view: formed after every replica restarted, it names every member a shadow
 * (each reconciles its records with all the others before it serves). A view decided by Paxos
 * never is one: its proposer stays a full member.
 */
export function isColdStartView(view: View): boolean {
  return view.members.length > 0 && view.members.every((m) => view.shadows.includes(m.id));
}

export function memberIds(view: View): ActorId[] {
  return view.members.map((m) => m.id);
}

export function incarnationOf(view: View, id: ActorId): number | undefined {
  return view.members.find((m) => m.id === id)?.incarnation;
}

/** Same members with the same incarnations (order-insensitive). */
export function sameMembers(a: readonly Member[], b: readonly Member[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((m) => b.some((n) => n.id === m.id && n.incarnation === m.incarnation));
}

export function formatView(view: View): string {
  const members = view.members
    .map((m) => `${m.id}${m.incarnation > 0 ? `#${m.incarnation}` : ''}`)
    .join(',');
  return `e${view.epoch}[${members}]${view.shadows.length > 0 ? ` shadows ${view.shadows.join(',')}` : ''}`;
}
