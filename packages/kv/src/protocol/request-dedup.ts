import type { ActorId } from '@heal/actors';

/** Request ids remembered per client; older ones fall below a floor and count as seen. */
export const DEDUP_WINDOW_PER_CLIENT = 8192;

/**
 * Remembers which client requests a replica has seen, so a request delivered twice (a
 * duplicating network, or a copy arriving after the client already retried elsewhere) is
 * executed at most once here. Client request ids only grow; a bounded window of recent ids is
 * kept per client and everything at or below the floor counts as seen.
 */
export class RequestDedup {
  readonly #clients = new Map<ActorId, { floor: number; seen: Set<number> }>();

  /** True the first time (client, reqId) is offered; false for a repeat. */
  firstTime(client: ActorId, reqId: number): boolean {
    let entry = this.#clients.get(client);
    if (!entry) {
      entry = { floor: 0, seen: new Set() };
      this.#clients.set(client, entry);
    }
    if (reqId <= entry.floor || entry.seen.has(reqId)) return false;
    entry.seen.add(reqId);
    if (entry.seen.size > 2 * DEDUP_WINDOW_PER_CLIENT) {
      const sorted = [...entry.seen].sort((a, b) => a - b);
      entry.floor = sorted[DEDUP_WINDOW_PER_CLIENT - 1] as number;
      entry.seen = new Set(sorted.slice(DEDUP_WINDOW_PER_CLIENT));
    }
    return true;
  }
}
