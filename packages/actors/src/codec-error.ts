/**
 * A message that cannot be encoded or decoded. `field` names where it went wrong
 * (`header.type`, `inv.key`, `batch.entries[3].ts`); a record that fails decoding is dropped
 * and counted by the runtime, never applied.
 */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    readonly messageName: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${messageName}: ${field}: ${reason}`);
  }
}
