/**
 * Errors of the durable storage media (wal, pmem). Every message names the file, the byte
 * offset when there is one, and what was wrong, so a bad file can be found without a debugger.
 */

export type StorageErrorCode =
  | 'ERR_STORAGE_ARGUMENT' // a bad option or record field (names the field)
  | 'ERR_STORAGE_CORRUPT' // persisted bytes fail a check in a place a crash cannot explain
  | 'ERR_STORAGE_FULL' // the medium has no room for another key
  | 'ERR_STORAGE_IO' // the OS failed a write or sync; the medium is unusable afterwards
  | 'ERR_STORAGE_CLOSED'; // used after close(), or after an I/O failure

export class StorageError extends Error {
  override readonly name = 'StorageError';

  constructor(
    readonly code: StorageErrorCode,
    readonly file: string,
    readonly offset: number | undefined,
    what: string,
  ) {
    super(offset === undefined ? `${file}: ${what}` : `${file}: offset ${offset}: ${what}`);
  }
}

/** The one place every storage error message is shaped. */
export const storageErrors = {
  argument: (file: string, field: string, expected: string, got: unknown): StorageError =>
    new StorageError(
      'ERR_STORAGE_ARGUMENT',
      file,
      undefined,
      `${field} must be ${expected}, got ${String(got)}`,
    ),
  corrupt: (file: string, offset: number, what: string): StorageError =>
    new StorageError('ERR_STORAGE_CORRUPT', file, offset, what),
  full: (file: string, what: string): StorageError =>
    new StorageError('ERR_STORAGE_FULL', file, undefined, what),
  io: (file: string, op: string, cause: unknown): StorageError =>
    new StorageError(
      'ERR_STORAGE_IO',
      file,
      undefined,
      `${op} failed: ${(cause as Error)?.message ?? String(cause)}`,
    ),
  closed: (file: string, how: string): StorageError =>
    new StorageError('ERR_STORAGE_CLOSED', file, undefined, `storage is ${how}`),
} as const;
