/** Small builders and a brute-force reference checker for the checker's tests. */
import type { History, Operation } from '../../src/index.js';

/** `put(client, key, value, call, ret)`; `ret` null: no response. */
export function put(
  client: number,
  key: string,
  value: string,
  call: number,
  ret: number | null,
): Operation {
  return { client, op: 'put', key, value, call, return: ret };
}

/** `get(client, key, value read, call, ret)`; value null: read absent. */
export function get(
  client: number,
  key: string,
  value: string | null,
  call: number,
  ret: number | null,
): Operation {
  return { client, op: 'get', key, value, call, return: ret };
}

export function history(...operations: Operation[]): History {
  return { operations };
}

/**
 * Exhaustive linearizability check of one key (all operations on one register), by trying
 * every order that respects real time, memoised on (linearized set, value). Exponential: only
 * for histories of at most ~20 operations. Independent of the checker's algorithm on purpose.
 */
export function referenceLinearizable(ops: readonly Operation[]): boolean {
  const live = ops.filter((o) => !(o.op === 'get' && o.return === null));
  if (live.length > 24) throw new RangeError('referenceLinearizable: too many operations');
  const seen = new Set<string>();
  const ABSENT = { absent: true } as const;
  const complete = (mask: number): boolean =>
    live.every((o, i) => o.return === null || (mask & (1 << i)) !== 0);
  const search = (mask: number, value: string | typeof ABSENT): boolean => {
    if (complete(mask)) return true;
    const memoKey = `${mask}:${typeof value === 'string' ? `v${value}` : 'absent'}`;
    if (seen.has(memoKey)) return false;
    seen.add(memoKey);
    for (let i = 0; i < live.length; i++) {
      if ((mask & (1 << i)) !== 0) continue;
      const x = live[i] as Operation;
      const blocked = live.some(
        (y, j) => j !== i && (mask & (1 << j)) === 0 && y.return !== null && y.return < x.call,
      );
      if (blocked) continue;
      if (x.op === 'put') {
        if (search(mask | (1 << i), x.value)) return true;
      } else if (
        (x.value === null && value === ABSENT) ||
        (x.value !== null && value === x.value)
      ) {
        if (search(mask | (1 << i), value)) return true;
      }
    }
    return false;
  };
  return search(0, ABSENT);
}
