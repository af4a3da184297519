/**
 * Errors of the pmem package. Every message names the file, the byte offset when there is one,
 * and what was wrong, so a corrupt image or a bad argument can be found without a debugger.
 */

export type PmemErrorCode =
  | 'ERR_PMEM_ARGUMENT' // a bad option or argument (names the field)
  | 'ERR_PMEM_RANGE' // an offset/length outside the region
  | 'ERR_PMEM_CLOSED' // the region was closed or crashed
  | 'ERR_PMEM_FILE' // the file cannot be created/opened/mapped as a region
  | 'ERR_PMEM_FULL' // a log or table has no room
  | 'ERR_PMEM_CORRUPT'; // persisted bytes fail a check (CorruptionError)

/** A misuse or an environment failure, always naming the file and, if any, the offset. */
export class PmemError extends Error {
  override readonly name: string = 'PmemError';
  readonly code: PmemErrorCode;
  readonly file: string;
  readonly offset: number | undefined;

  constructor(code: PmemErrorCode, file: string, offset: number | undefined, what: string) {
    super(offset === undefined ? `${file}: ${what}` : `${file}: offset ${offset}: ${what}`);
    this.code = code;
    this.file = file;
    this.offset = offset;
  }
}

/** Persisted bytes failed a check (magic, checksum, length, field range). */
export class CorruptionError extends PmemError {
  override readonly name = 'CorruptionError';

  constructor(file: string, offset: number, what: string) {
    super('ERR_PMEM_CORRUPT', file, offset, what);
  }
}

/** The small factory table: one place for every message shape, so they stay consistent. */
export const pmemErrors = {
  argument: (file: string, field: string, expected: string, got: unknown): PmemError =>
    new PmemError(
      'ERR_PMEM_ARGUMENT',
      file,
      undefined,
      `${field} must be ${expected}, got ${String(got)}`,
    ),
  range: (file: string, offset: number, lengthBytes: number, sizeBytes: number): PmemError =>
    new PmemError(
      'ERR_PMEM_RANGE',
      file,
      offset,
      `range of ${lengthBytes} bytes is outside the region of ${sizeBytes} bytes`,
    ),
  closed: (file: string, how: string): PmemError =>
    new PmemError('ERR_PMEM_CLOSED', file, undefined, `region is ${how}; reopen the file`),
  file: (file: string, what: string): PmemError =>
    new PmemError('ERR_PMEM_FILE', file, undefined, what),
  full: (file: string, offset: number, what: string): PmemError =>
    new PmemError('ERR_PMEM_FULL', file, offset, what),
} as const;
