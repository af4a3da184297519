/**
 * Histories of a key-value store, as the linearizability checker reads them, and their JSON
 * file format (kept exactly; other tools produce and consume it):
 *
 *   {"operations": [{"client": 0, "op": "put", "key": "k1", "value": "a", "call": 0, "return": 10}, ...]}
 *
 * Each key is an independent register, initially absent. `put` writes `value` (a string); `get`
 * reports the value it read (a string, or `null` when the key was absent). `call` and `return`
 * are integers on one clock; `a` precedes `b` only when `a.return < b.call` (equal ticks are
 * concurrent). `"return": null` means no response: such a put may or may not have taken effect
 * (at any time after its call), such a get constrains nothing. A client has one operation
 * outstanding at a time: its next call is strictly after its previous return, and a client
 * with a pending operation issues nothing after it.
 *
 * Every field is required (a pending get still carries `"value": null`), none may repeat and no
 * other field is allowed. Errors name the operation and field: `operations[12].return: ...`.
 */
import { JsonSyntaxError, formatPath, parseJson } from './json.js';

export interface PutOperation {
  readonly client: number;
  readonly op: 'put';
  readonly key: string;
  readonly value: string;
  readonly call: number;
  /** `null`: no response; the put may or may not have taken effect. */
  readonly return: number | null;
}

export interface GetOperation {
  readonly client: number;
  readonly op: 'get';
  readonly key: string;
  /** The value read; `null` when the key was absent (or, for a pending get, unknown). */
  readonly value: string | null;
  readonly call: number;
  /** `null`: no response; the get constrains nothing. */
  readonly return: number | null;
}

export type Operation = PutOperation | GetOperation;

/** An in-memory history: the same shape as the JSON file. */
export interface History {
  readonly operations: readonly Operation[];
}

/** Invalid history input. `path` says where (`operations[12].return`), `message` says what. */
export class HistoryError extends Error {
  override readonly name = 'HistoryError';
  constructor(
    readonly path: string,
    readonly detail: string,
    /** Line and column in the JSON text, when the error is a JSON syntax error. */
    readonly position?: { readonly offset: number; readonly line: number; readonly column: number },
  ) {
    super(`${path}: ${detail}`);
  }
}

const FIELDS = ['client', 'op', 'key', 'value', 'call', 'return'] as const;

/** Parses and validates a history file's text. Throws `HistoryError` naming what and where. */
export function parseHistory(text: string): History {
  let doc: unknown;
  try {
    doc = parseJson(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) {
      const where = { offset: err.offset, line: err.line, column: err.column };
      throw new HistoryError(
        `line ${err.line}, column ${err.column}`,
        `invalid JSON: ${err.detail}`,
        where,
      );
    }
    throw err;
  }
  return validateHistory(doc);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'an object';
  return JSON.stringify(v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Checks that `doc` (parsed JSON or an in-memory object) is a well-formed history and returns
 * it as a `History` (a fresh copy of every operation, with fields in file order).
 */
export function validateHistory(doc: unknown): History {
  if (!isPlainObject(doc))
    throw new HistoryError(
      '(top level)',
      `must be an object {"operations": [...]}, got ${describe(doc)}`,
    );
  for (const name of Object.keys(doc)) {
    if (name !== 'operations')
      throw new HistoryError(
        '(top level)',
        `unknown field ${JSON.stringify(name)} (only "operations" is allowed)`,
      );
  }
  const raw = doc['operations'];
  if (!Array.isArray(raw))
    throw new HistoryError('operations', `must be an array, got ${describe(raw)}`);
  const operations = raw.map((item: unknown, i) => validateOperation(item, i));
  checkClients(operations);
  return { operations };
}

function validateOperation(item: unknown, i: number): Operation {
  const at = (field?: string): string =>
    formatPath(field === undefined ? ['operations', i] : ['operations', i, field]);
  if (!isPlainObject(item))
    throw new HistoryError(at(), `must be an object, got ${describe(item)}`);
  for (const name of Object.keys(item)) {
    if (!(FIELDS as readonly string[]).includes(name)) {
      throw new HistoryError(
        at(),
        `unknown field ${JSON.stringify(name)} (expected ${FIELDS.join(', ')})`,
      );
    }
  }
  for (const name of FIELDS) {
    if (!(name in item)) throw new HistoryError(at(name), 'missing');
  }
  const { client, op, key, value, call } = item;
  const ret = item['return'];
  if (!Number.isSafeInteger(client) || (client as number) < 0) {
    throw new HistoryError(at('client'), `must be an integer >= 0, got ${describe(client)}`);
  }
  if (op !== 'put' && op !== 'get')
    throw new HistoryError(at('op'), `must be "put" or "get", got ${describe(op)}`);
  if (typeof key !== 'string')
    throw new HistoryError(at('key'), `must be a string, got ${describe(key)}`);
  if (op === 'put' && typeof value !== 'string') {
    throw new HistoryError(at('value'), `a put must carry a string value, got ${describe(value)}`);
  }
  if (op === 'get' && value !== null && typeof value !== 'string') {
    throw new HistoryError(
      at('value'),
      `a get's value must be a string or null, got ${describe(value)}`,
    );
  }
  if (!Number.isSafeInteger(call))
    throw new HistoryError(at('call'), `must be an integer, got ${describe(call)}`);
  if (ret !== null && (!Number.isSafeInteger(ret) || (ret as number) < (call as number))) {
    throw new HistoryError(
      at('return'),
      `must be an integer >= call (${call as number}) or null, got ${describe(ret)}`,
    );
  }
  return { client, op, key, value, call, return: ret } as Operation;
}

/** A client has one operation outstanding at a time; nothing follows a pending operation. */
function checkClients(operations: readonly Operation[]): void {
  const byClient = new Map<number, number[]>();
  operations.forEach((o, i) => {
    const list = byClient.get(o.client);
    if (list === undefined) byClient.set(o.client, [i]);
    else list.push(i);
  });
  for (const [client, indices] of byClient) {
    indices.sort(
      (a, b) => (operations[a] as Operation).call - (operations[b] as Operation).call || a - b,
    );
    for (let j = 1; j < indices.length; j++) {
      const prevIndex = indices[j - 1] as number;
      const index = indices[j] as number;
      const prev = operations[prevIndex] as Operation;
      const next = operations[index] as Operation;
      if (prev.return === null) {
        throw new HistoryError(
          `operations[${index}].call`,
          `client ${client} calls at ${next.call} after its operation operations[${prevIndex}] (call ${prev.call}) ` +
            'got no response; a client with a pending operation issues nothing after it',
        );
      }
      if (next.call <= prev.return) {
        throw new HistoryError(
          `operations[${index}].call`,
          `client ${client} calls at ${next.call} while its operation operations[${prevIndex}] ` +
            `(call ${prev.call}, return ${prev.return}) is outstanding; a client's next call must be after its previous return`,
        );
      }
    }
  }
}

/** The history as JSON text in the file format, one operation per line. */
export function serializeHistory(history: History): string {
  if (history.operations.length === 0) return '{"operations": []}\n';
  const lines = history.operations.map(
    (o) =>
      `  ${JSON.stringify({ client: o.client, op: o.op, key: o.key, value: o.value, call: o.call, return: o.return })}`,
  );
  return `{"operations": [\n${lines.join(',\n')}\n]}\n`;
}
