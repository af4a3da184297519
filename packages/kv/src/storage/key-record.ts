import type { ActorId, ByteString } from '@heal/actors/core';
import type { Ts } from '../protocol/timestamp.js';

/** Per-key states (ARCHITECTURE.md §3, key states). */
export type KeyState = 'valid' | 'invalid' | 'write' | 'replay';
export const KEY_STATES: readonly KeyState[] = ['valid', 'invalid', 'write', 'replay'];

/**
 * What a replica holds for one key: the value of the highest timestamp it has taken, the
 * state of that write here, and the write's origin number `(origin, seq)`.
 */
export interface KeyRecord {
  readonly key: string;
  ts: Ts;
  /** The bytes written, one char per byte. */
  value: ByteString;
  state: KeyState;
  origin: ActorId;
  seq: number;
}

/** Fixed bytes of a record on the wire besides key and value: version, cid, state, origin, seq. */
export const RECORD_WIRE_OVERHEAD_BYTES = 21;

/** Size of a record as recovery moves it (the reports' missed and moved bytes use it). */
export function recordWireBytes(record: Pick<KeyRecord, 'key' | 'value'>): number {
  return utf8Length(record.key) + record.value.length + RECORD_WIRE_OVERHEAD_BYTES;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
