/**
 * The `pmem` medium's payload in its PTable's metadata area (see pmem-storage.ts):
 * u32 magic | u32 version | u53 seq high-water mark (lo, hi) | u32 epoch | u32 vv bytes | the
 * version vector persisted by the last sync that carried one. Version 1 has neither epoch nor
 * vv, version 2 no epoch (both kept the epoch in a file beside the region).
 */
import { VV_ENCODED_BYTES_MAX } from '../protocol/version-vector.js';
import { storageErrors } from './storage-error.js';

const META_MAGIC = 0x4d564b48; // 'HKVM' little-endian
const META_VERSION = 3;
const META_V1_PAYLOAD_BYTES = 16;
const META_V2_FIXED_BYTES = 20;
const META_FIXED_BYTES = 24;
/** A new table's metadata area: two copies, each room for the largest version vector. */
export const PMEM_META_BYTES =
  2 * Math.ceil((16 + META_FIXED_BYTES + VV_ENCODED_BYTES_MAX) / 64) * 64;
const U32 = 2 ** 32;

/** What the metadata holds. */
export interface PmemMeta {
  seqHighWater: number;
  /** undefined in versions 1 and 2 (the epoch was in a file beside the region). */
  epoch: number | undefined;
  versionVector: Uint8Array | undefined;
}

export function encodePmemMeta(meta: PmemMeta): Buffer {
  const { seqHighWater, epoch = 0 } = meta;
  const vv = meta.versionVector ?? new Uint8Array(0);
  const payload = Buffer.alloc(META_FIXED_BYTES + vv.length);
  payload.writeUInt32LE(META_MAGIC, 0);
  payload.writeUInt32LE(META_VERSION, 4);
  payload.writeUInt32LE(seqHighWater % U32, 8);
  payload.writeUInt32LE(Math.floor(seqHighWater / U32), 12);
  payload.writeUInt32LE(epoch, 16);
  payload.writeUInt32LE(vv.length, 20);
  payload.set(vv, META_FIXED_BYTES);
  return payload;
}

/** Decodes the payload `b` (of the table at `path`, metadata at `offset`); throws if it is not one. */
export function decodePmemMeta(path: string, offset: number, b: Buffer): PmemMeta {
  const version = b.length >= 8 ? b.readUInt32LE(4) : 0;
  const fixed = version === 2 ? META_V2_FIXED_BYTES : META_FIXED_BYTES;
  const fits =
    version === 1
      ? b.length === META_V1_PAYLOAD_BYTES
      : (version === 2 || version === META_VERSION) &&
        b.length >= fixed &&
        b.length === fixed + b.readUInt32LE(fixed - 4);
  if (b.readUInt32LE(0) !== META_MAGIC || !fits) {
    throw storageErrors.corrupt(
      path,
      offset,
      `metadata is not a kv seq high-water mark and version vector (${b.length} bytes, magic 0x${b.length >= 4 ? b.readUInt32LE(0).toString(16) : '?'}, version ${version})`,
    );
  }
  const seqHighWater = b.readUInt32LE(8) + b.readUInt32LE(12) * U32;
  const epoch = version === META_VERSION ? b.readUInt32LE(16) : undefined;
  const versionVector =
    version !== 1 && b.length > fixed ? Uint8Array.prototype.slice.call(b, fixed) : undefined;
  return { seqHighWater, epoch, versionVector };
}
