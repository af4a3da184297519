import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HistoryError, parseHistory, serializeHistory, validateHistory } from '../../src/index.js';

const OP = '{"client": 0, "op": "put", "key": "k1", "value": "a", "call": 0, "return": 10}';

/** A file with `ops` (JSON texts) as its operations. */
function file(...ops: string[]): string {
  return `{"operations": [${ops.join(',\n')}]}`;
}

/** `OP` with one field replaced (or removed, when `raw` is undefined). */
function opWith(field: string, raw: string | undefined): string {
  const o = JSON.parse(OP) as Record<string, unknown>;
  const parts = Object.keys(o).flatMap((k) =>
    k === field
      ? raw === undefined
        ? []
        : [`"${k}": ${raw}`]
      : [`"${k}": ${JSON.stringify(o[k])}`],
  );
  return `{${parts.join(', ')}}`;
}

function rejects(text: string, pattern: RegExp): HistoryError {
  let caught: unknown;
  try {
    parseHistory(text);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof HistoryError, `expected a HistoryError for ${text}`);
  assert.match(caught.message, pattern);
  return caught;
}

describe('history file format', () => {
  test('parses the documented example exactly', () => {
    const h = parseHistory(
      file(
        OP,
        '{"client": 1, "op": "get", "key": "k1", "value": null, "call": 11, "return": null}',
      ),
    );
    assert.deepEqual(h.operations, [
      { client: 0, op: 'put', key: 'k1', value: 'a', call: 0, return: 10 },
      { client: 1, op: 'get', key: 'k1', value: null, call: 11, return: null },
    ]);
  });

  test('"" and "null" stay strings, distinct from null, through a round trip', () => {
    const text = file(
      '{"client": 0, "op": "put", "key": "", "value": "", "call": 0, "return": 1}',
      '{"client": 0, "op": "put", "key": "null", "value": "null", "call": 2, "return": 3}',
      '{"client": 1, "op": "get", "key": "k", "value": null, "call": 0, "return": 1}',
      '{"client": 1, "op": "get", "key": "k", "value": "\\u0000\\"\\n", "call": 2, "return": null}',
    );
    const h = parseHistory(text);
    assert.deepEqual(
      h.operations.map((o) => o.value),
      ['', 'null', null, '\u0000"\n'],
    );
    assert.deepEqual(parseHistory(serializeHistory(h)), h);
  });

  test('the empty history is valid', () => {
    assert.deepEqual(parseHistory('{"operations": []}').operations, []);
    assert.deepEqual(parseHistory(serializeHistory({ operations: [] })).operations, []);
  });

  test('malformed JSON is reported with line and column', () => {
    const e = rejects(
      '{"operations": [\n  {"client": 0,, }\n]}',
      /line 2, column 16: invalid JSON.*expected a member name/,
    );
    assert.deepEqual(e.position, { offset: 32, line: 2, column: 16 });
    rejects('{"operations": [', /invalid JSON.*expected a value, found end of input/);
    rejects('{"operations": []} x', /unexpected text after the JSON value/);
    rejects('{"operations": [01]}', /line 1, column 18: invalid JSON: expected ',' or '\]'/);
    rejects('{"operations": ["\t"]}', /control character in string/);
    rejects('', /line 1, column 1: invalid JSON: expected a value/);
  });

  test('a duplicate field is rejected, naming the field and the operation', () => {
    rejects(
      file(
        OP,
        '{"client": 0, "op": "put", "call": 20, "key": "k", "value": "b", "call": 21, "return": 30}',
      ),
      /duplicate field "call" in operations\[1\]/,
    );
    rejects(
      '{"operations": [], "operations": []}',
      /duplicate field "operations" in the top-level object/,
    );
  });

  test('missing, unknown and mistyped fields name operations[i].field', () => {
    rejects(file(OP, opWith('return', undefined)), /^operations\[1\]\.return: missing$/);
    rejects(file(opWith('value', undefined)), /^operations\[0\]\.value: missing$/);
    rejects(file(`${OP.slice(0, -1)}, "extra": 1}`), /^operations\[0\]: unknown field "extra"/);
    rejects(
      file(opWith('op', '"cas"')),
      /^operations\[0\]\.op: must be "put" or "get", got "cas"$/,
    );
    rejects(file(opWith('key', '7')), /^operations\[0\]\.key: must be a string, got 7$/);
    rejects(file(opWith('key', 'null')), /^operations\[0\]\.key: must be a string, got null$/);
    rejects(
      file(opWith('value', 'null')),
      /^operations\[0\]\.value: a put must carry a string value, got null$/,
    );
    rejects(
      file(opWith('value', '3')),
      /^operations\[0\]\.value: a put must carry a string value, got 3$/,
    );
    rejects(
      file(opWith('op', '"get"').replace('"a"', '5')),
      /^operations\[0\]\.value: a get's value must be a string or null, got 5$/,
    );
    rejects(
      file(opWith('client', '-1')),
      /^operations\[0\]\.client: must be an integer >= 0, got -1$/,
    );
    rejects(
      file(opWith('client', '"0"')),
      /^operations\[0\]\.client: must be an integer >= 0, got "0"$/,
    );
    rejects(file(opWith('call', '1.5')), /^operations\[0\]\.call: must be an integer, got 1.5$/);
    rejects(
      file(opWith('call', '1e300')),
      /^operations\[0\]\.call: must be an integer, got 1e\+300$/,
    );
    rejects(
      file(opWith('return', '"10"')),
      /^operations\[0\]\.return: must be an integer >= call \(0\) or null, got "10"$/,
    );
    rejects(
      file(opWith('call', '12').replace('"return": 10', '"return": 11')),
      /^operations\[0\]\.return: must be an integer >= call \(12\) or null, got 11$/,
    );
    rejects(file(opWith('return', '10.5')), /^operations\[0\]\.return: must be an integer >= call/);
  });

  test('the top level must be {"operations": [...]}', () => {
    rejects('[]', /^\(top level\): must be an object/);
    rejects('{}', /^operations: must be an array, got nothing$/);
    rejects('{"operations": {}}', /^operations: must be an array, got an object$/);
    rejects('{"operations": [], "meta": 1}', /^\(top level\): unknown field "meta"/);
    rejects('{"operations": [7]}', /^operations\[0\]: must be an object, got 7$/);
  });

  test('a client with two operations outstanding at once is rejected', () => {
    const second =
      '{"client": 0, "op": "get", "key": "k2", "value": null, "call": 5, "return": 20}';
    rejects(
      file(OP, second),
      /^operations\[1\]\.call: client 0 calls at 5 while its operation operations\[0\] \(call 0, return 10\) is outstanding/,
    );
    const sameTick =
      '{"client": 0, "op": "get", "key": "k2", "value": null, "call": 10, "return": 20}';
    rejects(file(OP, sameTick), /^operations\[1\]\.call: client 0 calls at 10 while/);
    const after =
      '{"client": 0, "op": "get", "key": "k2", "value": null, "call": 11, "return": 20}';
    assert.equal(parseHistory(file(after, OP)).operations.length, 2); // file order does not matter
  });

  test('a client issues nothing after an operation without response', () => {
    const pending =
      '{"client": 3, "op": "put", "key": "k", "value": "a", "call": 0, "return": null}';
    const later =
      '{"client": 3, "op": "get", "key": "k", "value": null, "call": 100, "return": 101}';
    rejects(
      file(pending, later),
      /^operations\[1\]\.call: client 3 calls at 100 after its operation operations\[0\] \(call 0\) got no response/,
    );
  });

  test('validateHistory accepts in-memory objects and copies them', () => {
    const ops = [{ client: 0, op: 'put', key: 'k', value: 'a', call: 0, return: 1 }];
    const h = validateHistory({ operations: ops });
    assert.deepEqual(h.operations, ops);
    assert.notEqual(h.operations[0], ops[0]);
    assert.throws(
      () => validateHistory({ operations: [{ ...ops[0], call: Number.NaN }] }),
      /operations\[0\]\.call: must be an integer, got null/,
    );
  });
});
