import type { ActorId } from '@heal/actors/core';
import { formatTs, tsEquals } from '../protocol/timestamp.js';
import type { KeyRecord } from '../storage/key-record.js';

export interface VerifyResult {
  equal: boolean;
  keys: number;
  /** The first differences found, for a readable failure. */
  differences: string[];
}

/** Most differences a verify report lists. */
export const VERIFY_MAX_DIFFERENCES = 10;

/** Proves replicas equal: the same keys, each with the same ts, value and state. */
export function verifyReplicas(
  replicas: readonly { id: ActorId; records: ReadonlyMap<string, KeyRecord> }[],
): VerifyResult {
  const differences: string[] = [];
  const [first, ...rest] = replicas;
  if (!first) return { equal: true, keys: 0, differences };
  const note = (text: string): void => {
    if (differences.length < VERIFY_MAX_DIFFERENCES) differences.push(text);
  };
  for (const other of rest) {
    if (other.records.size !== first.records.size) {
      note(
        `replica ${first.id} holds ${first.records.size} keys, replica ${other.id} ${other.records.size}`,
      );
    }
    for (const [key, a] of first.records) {
      const b = other.records.get(key);
      if (!b)
        note(
          `key ${JSON.stringify(key)}: on ${first.id} ${formatTs(a.ts)}, missing on ${other.id}`,
        );
      else if (!tsEquals(a.ts, b.ts) || a.value !== b.value || a.state !== b.state) {
        note(
          `key ${JSON.stringify(key)}: ${first.id} has ${formatTs(a.ts)} ${a.state}, ${other.id} has ${formatTs(b.ts)} ${b.state}`,
        );
      }
    }
    for (const key of other.records.keys()) {
      if (!first.records.has(key))
        note(`key ${JSON.stringify(key)}: on ${other.id}, missing on ${first.id}`);
    }
  }
  return { equal: differences.length === 0, keys: first.records.size, differences };
}
