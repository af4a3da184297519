/**
 * The epoch of the last view a replica installed, in a small file next to its medium (ARCHITECTURE.md
 * §4, Cold start): a cold start of the whole cluster takes an epoch above every one any
 * replica persisted, so no epoch is ever reused. Format, little-endian, EPOCH_FILE_BYTES bytes:
 *   0 u32 magic | 4 u32 format version | 8 u32 epoch lo | 12 u32 epoch hi | 16 u32 crc32c(0..16)
 * A save writes a temporary file, fdatasyncs it, renames it over the file and fsyncs the
 * directory: a crash leaves the old file or the new one, never a torn one. So a file of another
 * size, magic or checksum is corruption, reported with the file's path and what is wrong.
 */
import { closeSync, fdatasyncSync, openSync, readFileSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32c } from '@heal/pmem';
import { fsyncDir, writeFully } from './checkpoint.js';
import { StorageError, storageErrors } from './storage-error.js';

export const EPOCH_FILE_MAGIC = 0x48455045; // "EPEH" little-endian
export const EPOCH_FILE_VERSION = 1;
export const EPOCH_FILE_BYTES = 20;
const U32 = 2 ** 32;

function encodeEpoch(epoch: number): Buffer {
  const buf = Buffer.alloc(EPOCH_FILE_BYTES);
  buf.writeUInt32LE(EPOCH_FILE_MAGIC, 0);
  buf.writeUInt32LE(EPOCH_FILE_VERSION, 4);
  buf.writeUInt32LE(epoch % U32, 8);
  buf.writeUInt32LE(Math.floor(epoch / U32), 12);
  buf.writeUInt32LE(crc32c(buf, 0, 16), 16);
  return buf;
}

/** The epoch a file holds; throws a StorageError naming the file and what is wrong. */
export function decodeEpochFile(buf: Buffer, path: string): number {
  if (buf.length !== EPOCH_FILE_BYTES) {
    throw storageErrors.corrupt(
      path,
      Math.min(buf.length, EPOCH_FILE_BYTES),
      `persisted epoch file is ${buf.length} bytes, expected ${EPOCH_FILE_BYTES} (${buf.length < EPOCH_FILE_BYTES ? 'truncated' : 'trailing bytes'})`,
    );
  }
  const magic = buf.readUInt32LE(0);
  if (magic !== EPOCH_FILE_MAGIC) {
    throw storageErrors.corrupt(
      path,
      0,
      `not a persisted epoch file (magic 0x${magic.toString(16)}, expected 0x${EPOCH_FILE_MAGIC.toString(16)})`,
    );
  }
  const stored = buf.readUInt32LE(16);
  const computed = crc32c(buf, 0, 16);
  if (stored !== computed) {
    throw storageErrors.corrupt(
      path,
      16,
      `persisted epoch checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`,
    );
  }
  const version = buf.readUInt32LE(4);
  if (version !== EPOCH_FILE_VERSION) {
    throw storageErrors.corrupt(
      path,
      4,
      `persisted epoch format version ${version}, expected ${EPOCH_FILE_VERSION}`,
    );
  }
  return buf.readUInt32LE(8) + buf.readUInt32LE(12) * U32;
}

/** One replica's persisted epoch at `path`; 0 while none was saved. */
export class EpochFile {
  readonly #tempPath: string;

  constructor(readonly path: string) {
    this.#tempPath = join(dirname(path), `${basename(path)}.tmp`);
  }

  /** Reads the file (every call: a restart must see what is on disk); 0 when there is none. */
  load(): number {
    let buf: Buffer;
    try {
      buf = readFileSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw storageErrors.io(this.path, 'read', err);
    }
    return decodeEpochFile(buf, this.path);
  }

  /** Durable when it returns. */
  save(epoch: number): void {
    if (!Number.isSafeInteger(epoch) || epoch < 1)
      throw storageErrors.argument(this.path, 'epoch', 'a safe integer >= 1', epoch);
    try {
      const fd = openSync(this.#tempPath, 'w');
      try {
        writeFully(fd, encodeEpoch(epoch), 0, this.#tempPath);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(this.#tempPath, this.path);
      fsyncDir(dirname(this.path));
    } catch (err) {
      throw err instanceof StorageError ? err : storageErrors.io(this.path, 'save epoch', err);
    }
  }
}
