/**
 * Records a history while clients use the store: `invoke*` when an operation starts, `return*`
 * when its response arrives. The clock is supplied by the caller (the actor context, a
 * simulator, a logical counter); the recorder never reads time itself. An operation that never
 * returns (timed out, client crashed) stays pending: `"return": null` in the output. A client
 * has one operation outstanding at a time, so after a timeout use a fresh client id.
 *
 * Owned by one thread: the recorder is not shared; merge histories of several recorders only if
 * they read the same clock.
 */
import assert from 'node:assert/strict';
import {
  serializeHistory,
  type GetOperation,
  type History,
  type Operation,
  type PutOperation,
} from './history.js';

/** Bound on the operations one recorder holds (about 100 bytes each). */
export const RECORDER_MAX_OPERATIONS = 50_000_000;

interface Slot {
  client: number;
  op: 'put' | 'get';
  key: string;
  value: string | null;
  call: number;
  return: number | null;
}

/** Clients from here on write the preloaded keys' initial values in a history (one per key: all at tick 0). */
export const INITIAL_CLIENT = 2 ** 40;

export class HistoryRecorder {
  private readonly ops: Slot[] = [];
  /** Per client: the id of its last operation. */
  private readonly lastOp = new Map<number, number>();
  private lastTime = Number.NEGATIVE_INFINITY;

  /**
   * `clock` returns integer ticks >= 1 that never decrease (e.g. a logical counter, or ns).
   * `initial` gives the value a key held before the history (a preloaded dataset): each such
   * key of the history gets a put at tick 0, before every operation, by a client of its own
   * numbered from INITIAL_CLIENT.
   */
  constructor(
    private readonly clock: () => number,
    private readonly initial?: (key: string) => string | undefined,
  ) {}

  /** Number of operations recorded so far (pending ones included). */
  get size(): number {
    return this.ops.length;
  }

  /** Records the call of `put(key, value)` by `client`; returns the operation id. */
  invokePut(client: number, key: string, value: string): number {
    if (typeof value !== 'string')
      throw new TypeError(`HistoryRecorder.invokePut: value must be a string, got ${typeof value}`);
    return this.invoke(client, 'put', key, value);
  }

  /** Records the call of `get(key)` by `client`; returns the operation id. */
  invokeGet(client: number, key: string): number {
    return this.invoke(client, 'get', key, null);
  }

  /** Records the response of put `id`. */
  returnPut(id: number): void {
    this.complete(id, 'put').return = this.now();
  }

  /** Records the response of get `id`: the value it read (`null`: the key was absent). */
  returnGet(id: number, value: string | null): void {
    if (value !== null && typeof value !== 'string') {
      throw new TypeError(
        `HistoryRecorder.returnGet: value must be a string or null, got ${typeof value}`,
      );
    }
    const slot = this.complete(id, 'get');
    slot.return = this.now();
    slot.value = value;
  }

  /** The history so far; operations without a response are pending (`return: null`). */
  history(): History {
    const operations: Operation[] = this.ops.map((s) =>
      s.op === 'put'
        ? ({
            client: s.client,
            op: 'put',
            key: s.key,
            value: s.value as string,
            call: s.call,
            return: s.return,
          } satisfies PutOperation)
        : ({
            client: s.client,
            op: 'get',
            key: s.key,
            value: s.value,
            call: s.call,
            return: s.return,
          } satisfies GetOperation),
    );
    if (!this.initial) return { operations };
    const preloaded: Operation[] = [];
    for (const key of new Set(this.ops.map((s) => s.key))) {
      const value = this.initial(key);
      if (value !== undefined)
        preloaded.push({
          client: INITIAL_CLIENT + preloaded.length,
          op: 'put',
          key,
          value,
          call: 0,
          return: 0,
        });
    }
    return { operations: [...preloaded, ...operations] };
  }

  /** `JSON.stringify(recorder)` gives the history file format. */
  toJSON(): History {
    return this.history();
  }

  /** The history as JSON text in the file format. */
  serialize(): string {
    return serializeHistory(this.history());
  }

  private now(): number {
    const t = this.clock();
    if (!Number.isSafeInteger(t))
      throw new RangeError(`HistoryRecorder: the clock must return integer ticks, got ${t}`);
    if (t < this.lastTime)
      throw new RangeError(`HistoryRecorder: the clock went back from ${this.lastTime} to ${t}`);
    this.lastTime = t;
    return t;
  }

  private invoke(client: number, op: 'put' | 'get', key: string, value: string | null): number {
    if (!Number.isSafeInteger(client) || client < 0)
      throw new RangeError(`HistoryRecorder: client must be an integer >= 0, got ${client}`);
    if (typeof key !== 'string')
      throw new TypeError(`HistoryRecorder: key must be a string, got ${typeof key}`);
    if (this.ops.length >= RECORDER_MAX_OPERATIONS) {
      throw new RangeError(
        `HistoryRecorder: more than RECORDER_MAX_OPERATIONS (${RECORDER_MAX_OPERATIONS}) operations`,
      );
    }
    const prevId = this.lastOp.get(client);
    const prev = prevId === undefined ? undefined : this.ops[prevId];
    if (prev !== undefined && prev.return === null) {
      throw new RangeError(
        `HistoryRecorder: client ${client} still has operation ${prevId} outstanding; a client has one operation at a time (after a timeout, use a new client id)`,
      );
    }
    const call = this.now();
    if (prev !== undefined && call <= (prev.return as number)) {
      throw new RangeError(
        `HistoryRecorder: client ${client} calls at tick ${call}, not after its previous return at tick ${prev.return}; the clock must advance between them`,
      );
    }
    const id = this.ops.length;
    this.ops.push({ client, op, key, value, call, return: null });
    this.lastOp.set(client, id);
    return id;
  }

  private complete(id: number, op: 'put' | 'get'): Slot {
    const slot = this.ops[id];
    if (slot === undefined) throw new RangeError(`HistoryRecorder: no operation ${id}`);
    if (slot.op !== op)
      throw new RangeError(`HistoryRecorder: operation ${id} is a ${slot.op}, not a ${op}`);
    if (slot.return !== null)
      throw new RangeError(`HistoryRecorder: operation ${id} already returned`);
    assert.equal(this.lastOp.get(slot.client), id);
    return slot;
  }
}
