/**
 * The linearizability checker (ARCHITECTURE.md §7). Linearizability is local, so the history is
 * split per key and each key (an independent register, initially absent) is checked on its own
 * by `searchRegister`. Keys are checked smallest first; the report names the smallest failing
 * key. Results are `ok | illegal | unknown` (budget exhausted), as in Porcupine.
 *
 * Pending operations (`return: null`): a get constrains nothing and is dropped; a put may take
 * effect at any time after its call, or never (its return is +infinity). A pending put whose
 * value no get of the key reads is dropped too: taking effect could only hide other values.
 */
import { validateHistory, type History, type Operation } from './history.js';
import type { RegisterOps, SearchBudget } from './register-ops.js';
import { searchRegister } from './register-search.js';

export type Verdict = 'ok' | 'illegal' | 'unknown';

export interface CheckOptions {
  /** Wall-clock budget for the whole history; keys not decided in time are `unknown`. */
  readonly timeoutMs?: number;
  /** The clock for `timeoutMs`, in ms (default `performance.now`). */
  readonly now?: () => number;
  /** Deterministic budget: search steps per key before that key is `unknown`. */
  readonly maxStepsPerKey?: number;
}

/** Why a key is not linearizable, shown by `formatReport`. */
export interface KeyFailure {
  readonly key: string;
  /** All operations of the key (pending ones included), in call order. */
  readonly operations: readonly Operation[];
  /** For each of `operations`, its index in the history's `operations`. */
  readonly indices: readonly number[];
  /** Longest linearizable prefix found, as positions in `operations`, in linearization order. */
  readonly prefix: readonly number[];
  /** Position in `operations` of the operation that cannot be placed after the prefix. */
  readonly stuck: number;
  /** The register after the prefix: a value, or `null` when absent. */
  readonly valueAfterPrefix: string | null;
  /** One sentence on why `stuck` cannot be placed. */
  readonly explanation: string;
  /** False when the failure was seen without a search (`prefix` is then empty). */
  readonly searched: boolean;
}

export interface CheckResult {
  readonly verdict: Verdict;
  /** `verdict === 'ok'`. */
  readonly ok: boolean;
  readonly operations: number;
  readonly keys: number;
  /** Keys that are not linearizable, fewest operations first (ties by key). */
  readonly failingKeys: readonly string[];
  /** Keys whose search ran out of budget. */
  readonly unknownKeys: readonly string[];
  /** Details of the smallest failing key. */
  readonly failure?: KeyFailure;
  /** Search steps (attempted linearizations) over all keys. */
  readonly steps: number;
}

/**
 * Checks that `history` is linearizable. Validates it first (throws `HistoryError`).
 * Deterministic unless `timeoutMs` is given.
 */
export function checkHistory(history: History, options: CheckOptions = {}): CheckResult {
  const { operations } = validateHistory(history);
  const budget = makeBudget(options);
  const byKey = new Map<string, number[]>();
  operations.forEach((o, i) => {
    const list = byKey.get(o.key);
    if (list === undefined) byKey.set(o.key, [i]);
    else list.push(i);
  });
  const keys = [...byKey.keys()].sort(
    (a, b) =>
      (byKey.get(a) as number[]).length - (byKey.get(b) as number[]).length ||
      (a < b ? -1 : a > b ? 1 : 0),
  );
  const failingKeys: string[] = [];
  const unknownKeys: string[] = [];
  let failure: KeyFailure | undefined;
  let steps = 0;
  for (const key of keys) {
    if (budget.expired()) {
      unknownKeys.push(key);
      continue;
    }
    const indices = (byKey.get(key) as number[]).sort(
      (a, b) => (operations[a] as Operation).call - (operations[b] as Operation).call || a - b,
    );
    const keyOps = indices.map((i) => operations[i] as Operation);
    const r = checkKey(key, keyOps, indices, budget);
    steps += r.steps;
    if (r.verdict === 'unknown') unknownKeys.push(key);
    if (r.failure !== undefined) {
      failingKeys.push(key);
      failure ??= r.failure;
    }
  }
  const verdict: Verdict =
    failingKeys.length > 0 ? 'illegal' : unknownKeys.length > 0 ? 'unknown' : 'ok';
  const result = {
    verdict,
    ok: verdict === 'ok',
    operations: operations.length,
    keys: keys.length,
    failingKeys,
    unknownKeys,
    steps,
  };
  return failure === undefined ? result : { ...result, failure };
}

/** `checkHistory(history).ok`. */
export function isLinearizable(history: History, options: CheckOptions = {}): boolean {
  return checkHistory(history, options).ok;
}

function makeBudget(options: CheckOptions): SearchBudget {
  const { timeoutMs, maxStepsPerKey } = options;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
    throw new RangeError(`options.timeoutMs must be a number >= 0, got ${timeoutMs}`);
  }
  if (
    maxStepsPerKey !== undefined &&
    !(Number.isSafeInteger(maxStepsPerKey) && maxStepsPerKey > 0)
  ) {
    throw new RangeError(
      `options.maxStepsPerKey must be a positive integer, got ${maxStepsPerKey}`,
    );
  }
  const maxSteps = maxStepsPerKey ?? Number.POSITIVE_INFINITY;
  if (timeoutMs === undefined) return { maxSteps, expired: () => false };
  const now = options.now ?? (() => performance.now());
  const deadline = now() + timeoutMs;
  return { maxSteps, expired: () => now() >= deadline };
}

interface KeyOutcome {
  readonly verdict: Verdict;
  readonly steps: number;
  readonly failure?: KeyFailure;
}

/** Checks one key; `keyOps` are its operations in call order, `indices` their history indices. */
function checkKey(
  key: string,
  keyOps: readonly Operation[],
  indices: readonly number[],
  budget: SearchBudget,
): KeyOutcome {
  const quick = quickFailure(keyOps);
  if (quick !== undefined) {
    const failure: KeyFailure = {
      key,
      operations: keyOps,
      indices,
      prefix: [],
      stuck: quick.stuck,
      valueAfterPrefix: null,
      explanation: quick.explanation,
      searched: false,
    };
    return { verdict: 'illegal', steps: 0, failure };
  }
  const prepared = prepare(keyOps);
  const r = searchRegister(prepared.ops, budget);
  if (r.verdict !== 'illegal') return { verdict: r.verdict, steps: r.steps };
  const prefix = r.prefix.map((i) => prepared.position[i] as number);
  const stuck = prepared.position[r.stuck] as number;
  const valueAfterPrefix =
    r.stateAfterPrefix === 0 ? null : (prepared.values[r.stateAfterPrefix - 1] as string);
  const explanation = explain(keyOps[stuck] as Operation, valueAfterPrefix);
  return {
    verdict: 'illegal',
    steps: r.steps,
    failure: {
      key,
      operations: keyOps,
      indices,
      prefix,
      stuck,
      valueAfterPrefix,
      explanation,
      searched: true,
    },
  };
}

function explain(stuck: Operation, after: string | null): string {
  const holds = after === null ? 'is absent' : `holds ${JSON.stringify(after)}`;
  const must = `the ${stuck.op} must take effect before it returns at ${stuck.return}`;
  if (stuck.op === 'get') {
    const read = stuck.value === null ? 'absent (null)' : JSON.stringify(stuck.value);
    return `after the prefix the register ${holds}; ${must}, but no order of the operations still open lets it read ${read}`;
  }
  return `after the prefix the register ${holds}; ${must}, but every place for it leaves some read with a value it cannot have`;
}

/**
 * Failures visible without a search: a completed get of a value that no put of the key writes
 * (called before the get returned), or of absent after a put completed before the get's call.
 */
function quickFailure(
  keyOps: readonly Operation[],
): { stuck: number; explanation: string } | undefined {
  const firstCall = new Map<string, number>();
  let firstPutReturn = Number.POSITIVE_INFINITY;
  for (const o of keyOps) {
    if (o.op !== 'put') continue;
    if (!firstCall.has(o.value)) firstCall.set(o.value, o.call); // call order: first is earliest
    if (o.return !== null && o.return < firstPutReturn) firstPutReturn = o.return;
  }
  let best: { stuck: number; explanation: string; at: number } | undefined;
  keyOps.forEach((o, i) => {
    if (o.op !== 'get' || o.return === null || (best !== undefined && best.at <= o.return)) return;
    if (o.value === null) {
      if (firstPutReturn < o.call) {
        best = {
          stuck: i,
          at: o.return,
          explanation: `it read absent (null), but a put had completed at ${firstPutReturn}, before its call at ${o.call}`,
        };
      }
      return;
    }
    const call = firstCall.get(o.value);
    if (call === undefined || call > o.return) {
      best = {
        stuck: i,
        at: o.return,
        explanation: `it read ${JSON.stringify(o.value)}, which no put of this key writes before it returns at ${o.return}`,
      };
    }
  });
  return best === undefined ? undefined : { stuck: best.stuck, explanation: best.explanation };
}

interface Prepared {
  readonly ops: RegisterOps;
  /** For each prepared operation, its position in the key's operations. */
  readonly position: Int32Array;
  /** Interned values: id k + 1 is `values[k]` (id 0 is absent). */
  readonly values: readonly string[];
}

function prepare(keyOps: readonly Operation[]): Prepared {
  const read = new Set<string>();
  for (const o of keyOps)
    if (o.op === 'get' && o.return !== null && o.value !== null) read.add(o.value);
  const kept: number[] = [];
  keyOps.forEach((o, i) => {
    if (o.return !== null || (o.op === 'put' && read.has(o.value))) kept.push(i);
  });
  const n = kept.length;
  const ops: RegisterOps = {
    count: n,
    isPut: new Uint8Array(n),
    valueId: new Int32Array(n),
    call: new Float64Array(n),
    ret: new Float64Array(n),
  };
  const ids = new Map<string, number>();
  const values: string[] = [];
  const position = new Int32Array(n);
  kept.forEach((p, j) => {
    const o = keyOps[p] as Operation;
    position[j] = p;
    ops.isPut[j] = o.op === 'put' ? 1 : 0;
    ops.call[j] = o.call;
    ops.ret[j] = o.return ?? Number.POSITIVE_INFINITY;
    if (o.value === null) return; // id 0: absent
    let id = ids.get(o.value);
    if (id === undefined) {
      values.push(o.value);
      id = values.length;
      ids.set(o.value, id);
    }
    ops.valueId[j] = id;
  });
  return { ops, position, values };
}
