/**
 * How the `pmem` medium keeps kv records in its PTable (see pmem-storage.ts): a key's state as
 * the table's state code, and the write a slot holds, to tell a new write (a put) from a new
 * state of the same write (a state update).
 */
import { byteStringOf } from '@heal/actors/core';
import { RecordState, type PTableHead, type PTableRecord } from '@heal/pmem';
import type { KeyRecord, KeyState } from './key-record.js';
import { storageErrors } from './storage-error.js';

const TO_CODE: Record<KeyState, number> = {
  valid: RecordState.Valid,
  invalid: RecordState.Invalid,
  write: RecordState.Write,
  replay: RecordState.Replay,
};
const FROM_CODE = new Map(Object.entries(TO_CODE).map(([s, c]) => [c, s as KeyState]));

export function stateCode(state: KeyState): number {
  return TO_CODE[state];
}

/** The kv record of a table record; a state code kv does not use is corruption of `path`. */
export function keyRecordOf(path: string, slotsOffset: number, r: PTableRecord): KeyRecord {
  const state = FROM_CODE.get(r.state);
  if (state === undefined) {
    throw storageErrors.corrupt(
      path,
      slotsOffset,
      `key ${JSON.stringify(r.key)} has state code ${r.state}, not one of ${[...FROM_CODE.keys()].join(',')}`,
    );
  }
  return {
    key: r.key,
    ts: r.ts,
    value: byteStringOf(r.value),
    state,
    origin: r.origin,
    seq: r.seq,
  };
}

/** The write a table slot holds, to tell a new write from a state change of the same one. */
export interface PersistedWrite {
  version: number;
  cid: number;
  origin: number;
  seq: number;
  state: number;
}

export function writeOf(r: KeyRecord): PersistedWrite {
  return {
    version: r.ts.version,
    cid: r.ts.cid,
    origin: r.origin,
    seq: r.seq,
    state: TO_CODE[r.state],
  };
}

export function persistedWriteOf(r: PTableHead): PersistedWrite {
  return { version: r.ts.version, cid: r.ts.cid, origin: r.origin, seq: r.seq, state: r.state };
}

/** The same write (ts and write number), whatever its state. */
export function sameWrite(w: PersistedWrite, r: KeyRecord): boolean {
  return (
    w.version === r.ts.version && w.cid === r.ts.cid && w.origin === r.origin && w.seq === r.seq
  );
}
