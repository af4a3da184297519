/**
 * `timeout`: no answer in time; `left-view`: the replica it was sent to left the view before it
 * answered (as with a timeout, a put may or may not have applied); `busy`: overloaded;
 * `closed`: the client was closed.
 */
export type KvErrorCode = 'timeout' | 'left-view' | 'busy' | 'not-serving' | 'closed';

/** A failed client operation; `code` says why. A timed-out put may or may not have applied. */
export class KvError extends Error {
  override readonly name = 'KvError';
  constructor(
    readonly code: KvErrorCode,
    message: string,
  ) {
    super(message);
  }
}
