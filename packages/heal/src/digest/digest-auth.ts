import { createHmac, timingSafeEqual } from 'node:crypto';
import { assertNodeHash, ORIGIN_MAX, VersionVector, type VvInterval } from '@heal/kv/replica';

/**
 * What a joining replica's digest claims, and what its MAC covers: every field that decides
 * how the Buddy serves it (buffer or descent, what it may skip) and which join it belongs to.
 */
export interface DigestClaim {
  readonly epoch: number;
  readonly replica: number;
  readonly incarnation: number;
  /** The join session: a Buddy takes each (incarnation, session) once, so an old digest replayed is refused. */
  readonly session: number;
  /** Its medium kept records: the Buddy's buffer may then cover the gap (false: descent). */
  readonly kept: boolean;
  /** Merkle root, as `BucketDigest.root()` prints it. */
  readonly root: string;
  /** The version vector, as `VersionVector.intervals()` lists it. */
  readonly vv: readonly VvInterval[];
}

/** Leads the encoding so a MAC over a digest is never valid for another kind of message. */
const DOMAIN_TAG = new TextEncoder().encode('heal-digest-v2');
const MAC_PATTERN = /^[0-9a-f]{64}$/;
const TWO_POW_32 = 0x1_0000_0000;
const HEADER_BYTES = 8 + 4 + 8 + 4 + 1 + 8 + 4; // epoch, replica, incarnation, session, kept, root, vv length
const VV_INTERVAL_BYTES = 4 + 8 + 8; // origin, from, to

/** A digest was rejected because a cluster with a key could not authenticate it. */
export class DigestAuthError extends Error {
  override readonly name = 'DigestAuthError';

  constructor(
    message: string,
    readonly replica: number,
    readonly incarnation: number,
  ) {
    super(message);
  }
}

function checkUint(value: number, field: string, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${field} must be an integer in 0..${max}, got ${value}`);
  }
}

function setUint64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / TWO_POW_32));
  view.setUint32(offset + 4, value >>> 0);
}

/**
 * The canonical bytes of `d`: a domain tag, then big-endian fixed-width fields in declaration
 * order, the vv prefixed by its length. Throws a RangeError naming the first bad field.
 */
export function digestBytes(d: DigestClaim): Uint8Array {
  checkUint(d.epoch, 'epoch', Number.MAX_SAFE_INTEGER);
  checkUint(d.replica, 'replica', ORIGIN_MAX);
  checkUint(d.incarnation, 'incarnation', Number.MAX_SAFE_INTEGER);
  checkUint(d.session, 'session', 0xffff_ffff);
  if (typeof d.kept !== 'boolean')
    throw new RangeError(`kept must be a boolean, got ${String(d.kept)}`);
  assertNodeHash(d.root, 'root');
  // One encoding per vector (a reordered or overlapping list would sign the same claim twice).
  VersionVector.fromIntervals(d.vv);
  const bytes = new Uint8Array(DOMAIN_TAG.length + HEADER_BYTES + d.vv.length * VV_INTERVAL_BYTES);
  bytes.set(DOMAIN_TAG);
  const view = new DataView(bytes.buffer);
  let offset = DOMAIN_TAG.length;
  setUint64(view, offset, d.epoch);
  view.setUint32(offset + 8, d.replica);
  setUint64(view, offset + 12, d.incarnation);
  view.setUint32(offset + 20, d.session);
  view.setUint8(offset + 24, d.kept ? 1 : 0);
  bytes.set(Buffer.from(d.root, 'hex'), offset + 25);
  view.setUint32(offset + 33, d.vv.length);
  offset += HEADER_BYTES;
  for (const { origin, from, to } of d.vv) {
    view.setUint32(offset, origin);
    setUint64(view, offset + 4, from);
    setUint64(view, offset + 12, to);
    offset += VV_INTERVAL_BYTES;
  }
  return bytes;
}

function checkKey(key: Uint8Array): void {
  if (key.length === 0) throw new RangeError('the cluster key must not be empty');
}

/** The HMAC-SHA256 of `d` under the cluster `key`, as 64 lowercase hex characters. */
export function signDigest(key: Uint8Array, d: DigestClaim): string {
  checkKey(key);
  return createHmac('sha256', key).update(digestBytes(d)).digest('hex');
}

/**
 * Accepts `d` if the cluster has no `key`; otherwise throws a DigestAuthError unless `mac` is
 * `d`'s MAC under `key`. The comparison takes the same time wherever the MACs differ.
 */
export function verifyDigest(
  key: Uint8Array | undefined,
  d: DigestClaim,
  mac: string | undefined,
): void {
  if (key === undefined) return;
  const reject = (what: string) => {
    const who = `digest from replica ${d.replica} (incarnation ${d.incarnation})`;
    return new DigestAuthError(`${who} ${what}`, d.replica, d.incarnation);
  };
  if (mac === undefined) throw reject('has no MAC but the cluster has a key');
  if (!MAC_PATTERN.test(mac)) {
    throw reject('has a malformed MAC (expected 64 lowercase hex characters)');
  }
  const expected = Buffer.from(signDigest(key, d), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(mac, 'hex'))) {
    throw reject('failed MAC verification (forged, altered, or signed with another key)');
  }
}
