import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';

/**
 * A write's logical timestamp `(version, coordinatorId)`, compared lexicographically
 * (ARCHITECTURE.md §3 Replication). The absent key has ZERO_TS; the first write to a key is `(1, c)`.
 */
export interface Ts {
  readonly version: number;
  readonly cid: ActorId;
}

export const ZERO_TS: Ts = { version: 0, cid: 0 };

export function compareTs(a: Ts, b: Ts): number {
  return a.version - b.version || a.cid - b.cid;
}

export function tsEquals(a: Ts, b: Ts): boolean {
  return a.version === b.version && a.cid === b.cid;
}

/** The timestamp a coordinator `cid` gives its write over a key currently at `current`. */
export function nextTs(current: Ts, cid: ActorId): Ts {
  const next = { version: current.version + 1, cid };
  assert(Number.isSafeInteger(next.version), `version overflow after ${current.version}`);
  assert(compareTs(next, current) > 0, 'a new timestamp is greater than the current one');
  return next;
}

export function formatTs(ts: Ts): string {
  return `(${ts.version},${ts.cid})`;
}
