/**
 * Seeded histories of a linearizable register store, for tests and the `heal bench check`
 * benchmark. One global tick clock; at each event a random client acts: an idle client calls
 * (a put or a get on a random key), a called operation takes effect on the store (its
 * linearization point), an applied one returns. So the history is linearizable by
 * construction, with random concurrency. Some ticks hold several events (equal ticks are
 * concurrent). With `pendingRate`, an operation gets no response (before or after it took
 * effect) and its client is retired: a fresh client id takes its place.
 */
import assert from 'node:assert/strict';
import type { History, Operation } from './history.js';
import { Prng } from '@heal/base';

export interface SimulationOptions {
  readonly seed: number;
  readonly operations: number;
  /** Clients active at a time. */
  readonly clients: number;
  readonly keys: number;
  /** Probability that an operation is a put (default 0.5). */
  readonly putRate?: number;
  /** Probability that an operation gets no response (default 0). */
  readonly pendingRate?: number;
  /** Probability that the clock does not advance between two events (default 0.2). */
  readonly sameTickRate?: number;
  /** Values are drawn from this many per key (plus "", "null"); 0: every put is unique (default). */
  readonly valuePool?: number;
}

interface Active {
  id: number;
  /** Index in `ops` of its current operation, or -1 when idle. */
  op: number;
  applied: boolean;
  lastReturn: number;
}

/** A linearizable history with the given shape. Deterministic in `options`. */
export function simulateHistory(options: SimulationOptions): History {
  const { seed, operations, clients, keys } = options;
  assert.ok(
    Number.isSafeInteger(operations) && operations >= 0,
    'operations must be an integer >= 0',
  );
  assert.ok(Number.isSafeInteger(clients) && clients > 0, 'clients must be a positive integer');
  assert.ok(Number.isSafeInteger(keys) && keys > 0, 'keys must be a positive integer');
  const putRate = options.putRate ?? 0.5;
  const pendingRate = options.pendingRate ?? 0;
  const sameTickRate = options.sameTickRate ?? 0.2;
  const pool = options.valuePool ?? 0;
  const prng = new Prng(seed);
  const store = new Map<string, string>();
  const ops: {
    client: number;
    op: 'put' | 'get';
    key: string;
    value: string | null;
    call: number;
    return: number | null;
  }[] = [];
  const active: Active[] = Array.from({ length: clients }, (_, id) => ({
    id,
    op: -1,
    applied: false,
    lastReturn: -1,
  }));
  let nextClient = clients;
  let now = 0;
  let started = 0;
  let unique = 0;
  const value = (key: string): string => {
    if (pool === 0) return `v${unique++}`;
    const k = prng.int(pool + 2);
    return k === 0 ? '' : k === 1 ? 'null' : `${key}:${k - 2}`;
  };
  while (started < operations || active.some((c) => c.op >= 0)) {
    if (!prng.chance(sameTickRate)) now++;
    const slot = prng.int(clients);
    const c = active[slot] as Active;
    if (c.op < 0) {
      if (started >= operations) continue;
      if (now <= c.lastReturn) now = c.lastReturn + 1;
      const key = `k${prng.int(keys)}`;
      const isPut = prng.chance(putRate);
      c.op = ops.length;
      c.applied = false;
      ops.push({
        client: c.id,
        op: isPut ? 'put' : 'get',
        key,
        value: isPut ? value(key) : null,
        call: now,
        return: null,
      });
      started++;
      continue;
    }
    const o = ops[c.op] as Operation & { value: string | null; return: number | null };
    if (prng.chance(pendingRate)) {
      if (!c.applied && o.op === 'put' && prng.chance(0.5)) store.set(o.key, o.value as string);
      active[slot] = { id: nextClient++, op: -1, applied: false, lastReturn: now };
      continue;
    }
    if (!c.applied) {
      if (o.op === 'put') store.set(o.key, o.value as string);
      else o.value = store.get(o.key) ?? null;
      c.applied = true;
      continue;
    }
    o.return = now;
    c.lastReturn = now;
    c.op = -1;
  }
  return { operations: ops as Operation[] };
}
