import type { ActorId } from '@heal/actors/core';
import { isFullMember, type View } from '@heal/kv/replica';

/**
 * Who plays which recovery role in a view. Every replica computes the same answer from the same
 * view. A role that serves a recovering replica goes to a full member: one the view does not
 * name a shadow (a view lists every member it does not know to have finished recovering). The
 * catch-up strategies' source order is kv's sourceCandidate.
 */

/**
 * HEAL's Buddy of `failed` (ARCHITECTURE.md §6, HEAL step 1): the next full member after it, in id
 * order, wrapping around.
 */
export function buddyOf(view: View, failed: ActorId): ActorId | undefined {
  let first: ActorId | undefined;
  let next: ActorId | undefined;
  for (const m of view.members) {
    if (m.id === failed || !isFullMember(view, m.id)) continue;
    if (first === undefined || m.id < first) first = m.id;
    if (m.id > failed && (next === undefined || m.id < next)) next = m.id;
  }
  return next ?? first;
}

/** Full members other than `buddy` and `joiner` that stream a descent's keys beside the Buddy, at most `count`. */
export function descentHelpers(
  view: View,
  buddy: ActorId,
  joiner: ActorId,
  count: number,
): ActorId[] {
  return view.members
    .map((m) => m.id)
    .filter((id) => id !== buddy && id !== joiner && isFullMember(view, id))
    .slice(0, count);
}

/** leader-incremental's keeper: the lowest-id full member. */
export function keeperOf(view: View): ActorId | undefined {
  let keeper: ActorId | undefined;
  for (const m of view.members)
    if (isFullMember(view, m.id) && (keeper === undefined || m.id < keeper)) keeper = m.id;
  return keeper;
}
