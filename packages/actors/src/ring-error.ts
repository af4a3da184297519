/**
 * Misuse or corruption of a SharedArrayBuffer ring or doorbell: a record larger than the ring,
 * a bad length, a header that fails validation on attach. The message names the field and value.
 */
export class RingError extends Error {
  override readonly name = 'RingError';
}

/** A short description of a value for error messages (`SharedArrayBuffer`, `number`, `null`). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
