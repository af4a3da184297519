import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';

/** Request ids remembered per client: the latest this many of its id space (a bitmap of 8 KiB). */
export const DEDUP_WINDOW_PER_CLIENT = 1 << 16;
const WORDS = DEDUP_WINDOW_PER_CLIENT / 32;

/** One client's window: ids in (floor, floor + DEDUP_WINDOW_PER_CLIENT], a bit each, at id % window. */
interface ClientWindow {
  floor: number;
  readonly bits: Uint32Array;
}

/**
 * Remembers which client requests a replica has seen, so a request delivered twice (a
 * duplicating network, or a copy arriving after the client already retried elsewhere) is
 * executed at most once here. Client request ids only grow, by one per operation (to any
 * replica): each client has a window over its latest ids, and everything at or below the
 * window's floor counts as seen. A bitmap, not a set of ids: no hashing per put, and no
 * rebuild when the window moves.
 */
export class RequestDedup {
  readonly #clients = new Map<ActorId, ClientWindow>();

  /** True the first time (client, reqId) is offered; false for a repeat (or an id below the window). */
  firstTime(client: ActorId, reqId: number): boolean {
    if (!Number.isSafeInteger(reqId) || reqId < 0)
      assert.fail(`request id must be a safe integer >= 0, got ${reqId}`);
    let window = this.#clients.get(client);
    if (!window) {
      window = {
        floor: Math.max(0, reqId - DEDUP_WINDOW_PER_CLIENT),
        bits: new Uint32Array(WORDS),
      };
      this.#clients.set(client, window);
    }
    if (reqId <= window.floor) return false;
    if (reqId > window.floor + DEDUP_WINDOW_PER_CLIENT)
      slide(window, reqId - DEDUP_WINDOW_PER_CLIENT);
    const slot = reqId % DEDUP_WINDOW_PER_CLIENT;
    const word = slot >>> 5;
    const bit = 1 << (slot & 31);
    const bits = window.bits;
    if (((bits[word] as number) & bit) !== 0) return false;
    bits[word] = (bits[word] as number) | bit;
    return true;
  }
}

/** Raises the floor to `floor`, clearing the bits of the ids that leave the window (their slots are reused). */
function slide(window: ClientWindow, floor: number): void {
  const { bits } = window;
  if (floor - window.floor >= DEDUP_WINDOW_PER_CLIENT) {
    bits.fill(0);
  } else {
    for (let id = window.floor + 1; id <= floor;) {
      const slot = id % DEDUP_WINDOW_PER_CLIENT;
      if ((slot & 31) === 0 && floor - id >= 31) {
        bits[slot >>> 5] = 0;
        id += 32;
      } else {
        bits[slot >>> 5] = (bits[slot >>> 5] as number) & ~(1 << (slot & 31));
        id++;
      }
    }
  }
  window.floor = floor;
}
