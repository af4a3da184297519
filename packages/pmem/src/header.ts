/**
 * The 64-byte header line that starts every structure's region: a magic naming the kind, a
 * format version, up to 12 kind-specific u32 fields, and a CRC-32C over the rest.
 *
 *   0 u32 magic | 4 u32 version | 8..56 u32 fields[12] | 60 u32 crc32c(bytes 0..60)
 */
import { crc32c } from './checksum.js';
import { CorruptionError } from './errors.js';
import { LINE_BYTES } from './geometry.js';
import type { PmemRegion } from './region.js';

export const HEADER_BYTES = LINE_BYTES;
const MAGIC_OFFSET = 0;
const VERSION_OFFSET = 4;
const FIELDS_OFFSET = 8;
const CRC_OFFSET = 60;
export const HEADER_FIELDS_MAX = (CRC_OFFSET - FIELDS_OFFSET) / 4;

export function magicName(magic: number): string {
  return `0x${magic.toString(16).padStart(8, '0')}`;
}

/** Writes and persists a header at offset 0. */
export function writeHeader(
  region: PmemRegion,
  magic: number,
  version: number,
  fields: readonly number[],
): void {
  if (fields.length > HEADER_FIELDS_MAX)
    throw new RangeError(`header has room for ${HEADER_FIELDS_MAX} fields`);
  const dv = new DataView(region.view.buffer, region.view.byteOffset, HEADER_BYTES);
  region.view.fill(0, 0, HEADER_BYTES);
  dv.setUint32(MAGIC_OFFSET, magic, true);
  dv.setUint32(VERSION_OFFSET, version, true);
  fields.forEach((v, i) => dv.setUint32(FIELDS_OFFSET + 4 * i, v, true));
  dv.setUint32(CRC_OFFSET, crc32c(region.view, 0, CRC_OFFSET), true);
  region.persist(0, HEADER_BYTES);
}

/**
 * Reads and checks the header at offset 0; throws CorruptionError naming the offset and what
 * is wrong (not formatted, other kind, bad checksum, unknown version).
 */
export function readHeader(
  region: PmemRegion,
  magic: number,
  version: number,
  kind: string,
): number[] {
  const file = region.path;
  if (region.sizeBytes < HEADER_BYTES) {
    throw new CorruptionError(
      file,
      0,
      `file of ${region.sizeBytes} bytes is too small for a ${kind} header`,
    );
  }
  const dv = new DataView(region.view.buffer, region.view.byteOffset, HEADER_BYTES);
  const found = dv.getUint32(MAGIC_OFFSET, true);
  if (found !== magic) {
    const what =
      found === 0
        ? `not formatted as a ${kind} (magic is 0)`
        : `magic ${magicName(found)} is not ${kind} (${magicName(magic)})`;
    throw new CorruptionError(file, MAGIC_OFFSET, what);
  }
  const stored = dv.getUint32(CRC_OFFSET, true);
  const computed = crc32c(region.view, 0, CRC_OFFSET);
  if (stored !== computed) {
    throw new CorruptionError(
      file,
      CRC_OFFSET,
      `${kind} header checksum ${magicName(stored)} does not match its content (${magicName(computed)})`,
    );
  }
  const v = dv.getUint32(VERSION_OFFSET, true);
  if (v !== version)
    throw new CorruptionError(
      file,
      VERSION_OFFSET,
      `${kind} format version ${v} is not supported (expected ${version})`,
    );
  const fields: number[] = [];
  for (let i = 0; i < HEADER_FIELDS_MAX; i++)
    fields.push(dv.getUint32(FIELDS_OFFSET + 4 * i, true));
  return fields;
}
