/**
 * The records a PTable stores, and their validation at the table's edge (field ranges and the
 * fingerprint a table with sums requires).
 */
import { isByteString, type ByteString } from '@heal/base';
import { pmemErrors } from './errors.js';
import { U32, type ResolvedLayout } from './ptable-layout.js';

/** Record states the replicated store uses; the table stores any u8 and reads only Valid. */
export const RecordState = { Invalid: 0, Valid: 1, Write: 2, Replay: 3 } as const;

export interface Timestamp {
  /** u53 */
  version: number;
  /** u32: the id of the coordinator that wrote it. */
  cid: number;
}

/**
 * What a record adds to its bucket's sums while it is in the table (tables formatted with
 * `fingerprintBuckets`): a bucket that depends on the key alone, and two u32 lanes.
 */
export interface Fingerprint {
  bucket: number;
  lane0: number;
  lane1: number;
}

export interface PTableRecord {
  key: string;
  ts: Timestamp;
  value: Uint8Array;
  /** u8, e.g. a RecordState. */
  state: number;
  /** u16: the replica that originated the write. */
  origin: number;
  /** u53: the originator's sequence number of the write. */
  seq: number;
  /** Required by a table with fingerprint sums, refused by one without; not read back. */
  fingerprint?: Fingerprint;
}

/** A record to put: its value as bytes, or as a byte string (one char per byte, no copy). */
export type PTableWrite = Omit<PTableRecord, 'value'> & { value: Uint8Array | ByteString };

/** A record without its value. */
export type PTableHead = Pick<PTableRecord, 'ts' | 'state' | 'origin' | 'seq'>;

/** Validates a record at the edge of the table on `path`; returns its key's UTF-8 length. */
export function checkRecord(path: string, layout: ResolvedLayout, r: PTableWrite): number {
  if (typeof r.key !== 'string') throw pmemErrors.argument(path, 'key', 'a string', typeof r.key);
  const keyBytes = Buffer.byteLength(r.key, 'utf8');
  const { keyMaxBytes, valueMaxBytes, fingerprintBuckets } = layout;
  if (keyBytes === 0 || keyBytes > keyMaxBytes)
    throw pmemErrors.argument(path, 'key', `1 to ${keyMaxBytes} UTF-8 bytes`, `${keyBytes} bytes`);
  if (!(r.value instanceof Uint8Array || isByteString(r.value)) || r.value.length > valueMaxBytes) {
    throw pmemErrors.argument(
      path,
      'value',
      `a Uint8Array or a byte string of at most ${valueMaxBytes} bytes`,
      r.value?.length,
    );
  }
  if (!isUint(r.ts?.version, Number.MAX_SAFE_INTEGER))
    throw pmemErrors.argument(path, 'ts.version', 'a safe integer >= 0', r.ts?.version);
  if (!isUint(r.ts.cid, U32 - 1))
    throw pmemErrors.argument(path, 'ts.cid', 'an integer in [0, 2^32)', r.ts.cid);
  if (!isUint(r.state, 0xff))
    throw pmemErrors.argument(path, 'state', 'an integer in [0, 255]', r.state);
  if (!isUint(r.origin, 0xffff))
    throw pmemErrors.argument(path, 'origin', 'an integer in [0, 65535]', r.origin);
  if (!isUint(r.seq, Number.MAX_SAFE_INTEGER))
    throw pmemErrors.argument(path, 'seq', 'a safe integer >= 0', r.seq);
  const fp = r.fingerprint;
  if (fingerprintBuckets === 0) {
    if (fp !== undefined)
      throw pmemErrors.argument(
        path,
        'fingerprint',
        'absent (the table keeps no fingerprint sums)',
        JSON.stringify(fp),
      );
  } else if (fp === undefined) {
    throw pmemErrors.argument(
      path,
      'fingerprint',
      `present (the table keeps sums in ${fingerprintBuckets} buckets)`,
      fp,
    );
  } else {
    if (!isUint(fp.bucket, fingerprintBuckets - 1))
      throw pmemErrors.argument(
        path,
        'fingerprint.bucket',
        `an integer in [0, ${fingerprintBuckets})`,
        fp.bucket,
      );
    if (!isUint(fp.lane0, U32 - 1))
      throw pmemErrors.argument(path, 'fingerprint.lane0', 'an integer in [0, 2^32)', fp.lane0);
    if (!isUint(fp.lane1, U32 - 1))
      throw pmemErrors.argument(path, 'fingerprint.lane1', 'an integer in [0, 2^32)', fp.lane1);
  }
  return keyBytes;
}

/** Whether `v` is an integer in [0, max]. */
export function isUint(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}
