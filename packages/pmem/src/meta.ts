/**
 * `PMeta`: a small persisted metadata area updated atomically (e.g. a version vector, or
 * high-water marks). Two copies alternate; each update writes the older copy with the next
 * sequence number and persists it; a reader takes the valid copy with the highest sequence.
 * A crash mid-update leaves that copy failing its checksum, so the previous value is read.
 *
 * Copy layout, each copy `copyBytes` long (a multiple of 64):
 *   0 u32 payloadBytes | 4 u32 crc32c(bytes 0..4 and 8..16+payloadBytes) | 8 u53 seq (lo, hi)
 *   16 payload
 */
import assert from 'node:assert/strict';
import { crc32cUpdate } from './checksum.js';
import { pmemErrors } from './errors.js';
import { LINE_BYTES } from './geometry.js';
import type { PmemRegion } from './region.js';

const LEN_OFFSET = 0;
const CRC_OFFSET = 4;
const SEQ_OFFSET = 8;
const PAYLOAD_OFFSET = 16;
const COPIES = 2;
/** Smallest metadata area: two copies of one line each. */
export const META_BYTES_MIN = COPIES * LINE_BYTES;

export interface MetaValue {
  /** A copy of the stored bytes. */
  bytes: Buffer;
  /** How many updates the area has had (1 for the first). */
  seq: number;
}

/** Owned by the structure that embeds it (a PTable), on that structure's thread. */
export class PMeta {
  private readonly copyBytes: number;
  private readonly dv: DataView;
  private lastSeq: number;

  /** `[offset, offset + areaBytes)` of `region`; areaBytes a multiple of 128. */
  constructor(
    private readonly region: PmemRegion,
    private readonly offset: number,
    areaBytes: number,
  ) {
    assert.ok(
      areaBytes >= META_BYTES_MIN && areaBytes % META_BYTES_MIN === 0,
      `metadata area of ${areaBytes} bytes`,
    );
    assert.ok(offset % LINE_BYTES === 0 && offset + areaBytes <= region.sizeBytes);
    this.copyBytes = areaBytes / COPIES;
    this.dv = new DataView(region.view.buffer, region.view.byteOffset, region.sizeBytes);
    this.lastSeq = this.read()?.seq ?? 0;
  }

  /** Largest payload an update may carry. */
  get payloadBytesMax(): number {
    return this.copyBytes - PAYLOAD_OFFSET;
  }

  /** Atomically replaces the metadata; durable when this returns. */
  write(bytes: Uint8Array): void {
    this.region.assertOpen();
    if (bytes.length > this.payloadBytesMax) {
      throw pmemErrors.argument(
        this.region.path,
        'metadata',
        `at most ${this.payloadBytesMax} bytes`,
        `${bytes.length} bytes`,
      );
    }
    const seq = this.lastSeq + 1;
    const base = this.offset + (seq % COPIES) * this.copyBytes;
    this.region.view.set(bytes, base + PAYLOAD_OFFSET);
    this.dv.setUint32(base + LEN_OFFSET, bytes.length, true);
    this.dv.setUint32(base + SEQ_OFFSET, seq % 2 ** 32, true);
    this.dv.setUint32(base + SEQ_OFFSET + 4, Math.floor(seq / 2 ** 32), true);
    this.dv.setUint32(base + CRC_OFFSET, this.checksum(base, bytes.length), true);
    this.region.persist(base, PAYLOAD_OFFSET + bytes.length);
    this.lastSeq = seq;
  }

  /** The latest complete value, or undefined if there has never been a complete update. */
  read(): MetaValue | undefined {
    let best: MetaValue | undefined;
    for (let copy = 0; copy < COPIES; copy++) {
      const base = this.offset + copy * this.copyBytes;
      const len = this.dv.getUint32(base + LEN_OFFSET, true);
      if (len > this.payloadBytesMax) continue;
      const seq =
        this.dv.getUint32(base + SEQ_OFFSET, true) +
        this.dv.getUint32(base + SEQ_OFFSET + 4, true) * 2 ** 32;
      if (seq === 0 || this.dv.getUint32(base + CRC_OFFSET, true) !== this.checksum(base, len))
        continue;
      if (best === undefined || seq > best.seq) {
        best = {
          seq,
          bytes: Buffer.from(
            this.region.view.subarray(base + PAYLOAD_OFFSET, base + PAYLOAD_OFFSET + len),
          ),
        };
      }
    }
    return best;
  }

  private checksum(base: number, len: number): number {
    const view = this.region.view;
    return crc32cUpdate(
      crc32cUpdate(0, view, base + LEN_OFFSET, 4),
      view,
      base + SEQ_OFFSET,
      8 + len,
    );
  }
}
