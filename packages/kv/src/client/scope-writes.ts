import { MAX_PERSIST_ITEMS, type KeyTs } from '../protocol/messages.js';
import { compareTs, type Ts } from '../protocol/timestamp.js';

/**
 * A client session's completed puts since its last persistScope() call (Scope model): the
 * latest ts per key, which the next call asks every member to have persisted.
 */
export class ScopeWrites {
  readonly #latest = new Map<string, Ts>();

  /** `enabled` false: nothing is kept (see KvClientOptions.scope). */
  constructor(readonly enabled: boolean) {}

  get writes(): ReadonlyMap<string, Ts> {
    return this.#latest;
  }

  /** A put of `key` completed with `ts` (or a failed call gives its writes back). */
  note(key: string, ts: Ts): void {
    if (!this.enabled) return;
    const known = this.#latest.get(key);
    if (!known || compareTs(known, ts) < 0)
      this.#latest.set(key, { version: ts.version, cid: ts.cid });
  }

  /** Takes every write kept, in chunks of at most MAX_PERSIST_ITEMS (one request each). */
  take(): KeyTs[][] {
    const items: KeyTs[] = [...this.#latest].map(([key, ts]) => ({ key, ...ts }));
    this.#latest.clear();
    const chunks: KeyTs[][] = [];
    for (let i = 0; i < items.length; i += MAX_PERSIST_ITEMS)
      chunks.push(items.slice(i, i + MAX_PERSIST_ITEMS));
    return chunks;
  }
}
