/**
 * Validation of a record at a durable medium's edge: every field in the range the media store,
 * or a StorageError naming the field.
 */
import { isByteString } from '@heal/actors/core';
import { KEY_STATES, type KeyRecord } from './key-record.js';
import { storageErrors } from './storage-error.js';

const U32 = 2 ** 32;

export function isUint(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

/** Checks a record at the edge, naming the field; returns its key's UTF-8 length. */
export function checkRecord(
  file: string,
  r: KeyRecord,
  keyBytesMax: number,
  valueBytesMax: number,
): number {
  if (typeof r.key !== 'string')
    throw storageErrors.argument(file, 'record.key', 'a string', typeof r.key);
  const keyBytes = Buffer.byteLength(r.key, 'utf8');
  if (keyBytes === 0 || keyBytes > keyBytesMax) {
    throw storageErrors.argument(
      file,
      'record.key',
      `1 to ${keyBytesMax} UTF-8 bytes`,
      `${keyBytes} bytes`,
    );
  }
  if (!isByteString(r.value) || r.value.length > valueBytesMax) {
    const got = typeof r.value === 'string' ? `${r.value.length} chars` : typeof r.value;
    throw storageErrors.argument(
      file,
      'record.value',
      `a byte string (chars 0..255) of at most ${valueBytesMax} bytes`,
      got,
    );
  }
  if (!isUint(r.ts?.version, Number.MAX_SAFE_INTEGER)) {
    throw storageErrors.argument(file, 'record.ts.version', 'a safe integer >= 0', r.ts?.version);
  }
  if (!isUint(r.ts.cid, U32 - 1))
    throw storageErrors.argument(file, 'record.ts.cid', 'an integer in [0, 2^32)', r.ts.cid);
  if (!isUint(r.origin, 0xffff))
    throw storageErrors.argument(file, 'record.origin', 'an integer in [0, 65535]', r.origin);
  if (!isUint(r.seq, Number.MAX_SAFE_INTEGER))
    throw storageErrors.argument(file, 'record.seq', 'a safe integer >= 0', r.seq);
  if (!KEY_STATES.includes(r.state)) {
    throw storageErrors.argument(file, 'record.state', KEY_STATES.join('|'), r.state);
  }
  return keyBytes;
}
