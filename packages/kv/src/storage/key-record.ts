import type { ActorId } from '@heal/actors';
import type { Ts } from '../protocol/timestamp.js';

/** Per-key states of DESIGN section 4. */
export type KeyState = 'valid' | 'invalid' | 'write' | 'replay';
export const KEY_STATES: readonly KeyState[] = ['valid', 'invalid', 'write', 'replay'];

/**
 * What a replica holds for one key: the value of the highest timestamp it has taken, the
 * state of that write here, and the write's origin number `(origin, seq)`.
 */
export interface KeyRecord {
  readonly key: string;
  ts: Ts;
  value: Uint8Array;
  state: KeyState;
  origin: ActorId;
  seq: number;
}
