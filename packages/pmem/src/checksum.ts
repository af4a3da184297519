/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8: eight 256-entry tables
 * let the loop consume 8 bytes per step. Check value: crc32c("123456789") === 0xE3069283.
 * Used for every persisted record; a stored checksum is the commit evidence of a record.
 */

const POLY = 0x82f63b78;
const TABLES = buildTables();

function buildTables(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n] as number;
    for (let s = 1; s < 8; s++) {
      c = (t[c & 0xff] as number) ^ (c >>> 8);
      t[s * 256 + n] = c >>> 0;
    }
  }
  return t;
}

/**
 * Continues a CRC-32C over `bytes[offset, offset + lengthBytes)`. Start with `crc = 0`; the
 * result of one call can be fed to the next to checksum a message in pieces.
 */
export function crc32cUpdate(
  crc: number,
  bytes: Uint8Array,
  offset: number,
  lengthBytes: number,
): number {
  const t = TABLES;
  let c = ~crc;
  let i = offset;
  const end = offset + lengthBytes;
  const end8 = end - ((end - i) & 7);
  while (i < end8) {
    const lo =
      c ^
      ((bytes[i] as number) |
        ((bytes[i + 1] as number) << 8) |
        ((bytes[i + 2] as number) << 16) |
        ((bytes[i + 3] as number) << 24));
    const hi =
      (bytes[i + 4] as number) |
      ((bytes[i + 5] as number) << 8) |
      ((bytes[i + 6] as number) << 16) |
      ((bytes[i + 7] as number) << 24);
    c =
      (t[1792 + (lo & 0xff)] as number) ^
      (t[1536 + ((lo >>> 8) & 0xff)] as number) ^
      (t[1280 + ((lo >>> 16) & 0xff)] as number) ^
      (t[1024 + (lo >>> 24)] as number) ^
      (t[768 + (hi & 0xff)] as number) ^
      (t[512 + ((hi >>> 8) & 0xff)] as number) ^
      (t[256 + ((hi >>> 16) & 0xff)] as number) ^
      (t[hi >>> 24] as number);
    i += 8;
  }
  while (i < end) {
    c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}

/** CRC-32C of `bytes[offset, offset + lengthBytes)` (the whole array by default). */
export function crc32c(bytes: Uint8Array, offset = 0, lengthBytes = bytes.length - offset): number {
  return crc32cUpdate(0, bytes, offset, lengthBytes);
}
