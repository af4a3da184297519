import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkHistory, formatReport, isLinearizable } from '../../src/index.js';
import { CORPUS } from './corpus.js';
import { get, history, put, referenceLinearizable } from './helpers.js';

describe('labelled corpus', () => {
  for (const entry of CORPUS) {
    test(`${entry.linearizable ? 'linearizable' : 'not linearizable'}: ${entry.name}`, () => {
      const r = checkHistory(entry.history);
      assert.equal(r.verdict, entry.linearizable ? 'ok' : 'illegal', formatReport(r));
      assert.equal(r.ok, entry.linearizable);
      assert.equal(r.failure?.key, entry.failingKey);
      // The brute-force reference agrees on every key.
      const keys = new Set(entry.history.operations.map((o) => o.key));
      const refOk = [...keys].every((k) =>
        referenceLinearizable(entry.history.operations.filter((o) => o.key === k)),
      );
      assert.equal(refOk, entry.linearizable);
    });
  }
});

describe('linearizability checker', () => {
  test('a stale read is reported with the key, its operations and the read that cannot be placed', () => {
    const r = checkHistory(
      history(put(0, 'k1', 'a', 0, 10), put(0, 'k1', 'b', 20, 30), get(1, 'k1', 'a', 40, 50)),
    );
    assert.equal(r.verdict, 'illegal');
    const f = r.failure;
    assert.ok(f !== undefined);
    assert.equal(f.key, 'k1');
    assert.deepEqual(f.indices, [0, 1, 2]);
    assert.deepEqual(f.prefix, [0, 1]);
    assert.equal(f.stuck, 2);
    assert.equal(f.valueAfterPrefix, 'b');
    const text = formatReport(r);
    assert.match(text, /NOT linearizable/);
    assert.match(text, /key "k1" \(3 operations\)/);
    assert.match(text, /#2 +\[2\] +1 +get +"a" +40 +50 <- cannot be placed/);
    assert.match(text, /#0 put "a" -> #1 put "b"/);
    assert.match(text, /register after it: "b"/);
  });

  test('a lost update leaves the longest prefix and names the read that cannot see its value', () => {
    const h = history(
      put(0, 'k', 'a', 0, 10),
      put(1, 'k', 'b', 0, 10),
      get(2, 'k', 'b', 20, 30),
      get(2, 'k', 'a', 40, 50),
    );
    const r = checkHistory(h);
    assert.equal(r.verdict, 'illegal');
    assert.equal(r.failure?.prefix.length, 3);
    assert.equal(r.failure?.stuck, 3);
  });

  test('a read of a never-written value is reported without a search', () => {
    const r = checkHistory(history(put(0, 'k', 'a', 0, 10), get(1, 'k', 'nope', 20, 30)));
    assert.equal(r.failure?.searched, false);
    assert.equal(r.failure?.stuck, 1);
    assert.match(formatReport(r), /which no put of this key writes/);
  });

  test('absent is shown as absent, "null" and "" as quoted strings', () => {
    const r = checkHistory(
      history(put(0, 'k', 'null', 0, 1), put(0, 'k', '', 2, 3), get(1, 'k', null, 4, 5)),
    );
    const text = formatReport(r);
    assert.match(text, /put +"null"/);
    assert.match(text, /put +""/);
    assert.match(text, /get +absent/);
  });

  test('the smallest failing key wins, and every failing key is listed', () => {
    const r = checkHistory(
      history(
        put(0, 'b', 'x', 0, 1),
        put(0, 'b', 'y', 2, 3),
        get(0, 'b', 'x', 4, 5),
        put(1, 'a', 'x', 0, 1),
        put(1, 'a', 'y', 2, 3),
        get(1, 'a', 'x', 4, 5),
        get(2, 'c', 'q', 0, 1),
      ),
    );
    assert.deepEqual(r.failingKeys, ['c', 'a', 'b']);
    assert.equal(r.failure?.key, 'c');
  });

  test('operations listed in call order with their history indices, whatever the file order', () => {
    const r = checkHistory(
      history(get(1, 'k', 'a', 40, 50), put(0, 'k', 'b', 20, 30), put(0, 'k', 'a', 0, 10)),
    );
    assert.deepEqual(r.failure?.indices, [2, 1, 0]);
  });

  test('a step budget turns a hard key into unknown, and unknown is not ok', () => {
    // Many concurrent puts with no reads until the end: needs search to reject.
    const ops = [];
    for (let c = 0; c < 12; c++) ops.push(put(c, 'k', `v${c}`, 0, 100));
    ops.push(get(20, 'k', 'v0', 200, 201), get(20, 'k', 'v1', 202, 203));
    const limited = checkHistory(history(...ops), { maxStepsPerKey: 1 });
    assert.equal(limited.verdict, 'unknown');
    assert.equal(limited.ok, false);
    assert.deepEqual(limited.unknownKeys, ['k']);
    assert.match(formatReport(limited), /^unknown/);
    assert.equal(checkHistory(history(...ops)).verdict, 'illegal');
  });

  test('a timeout with an injected clock marks the keys not decided in time unknown', () => {
    let now = 0;
    const clock = (): number => (now += 10);
    const h = history(put(0, 'a', 'x', 0, 1), put(0, 'b', 'x', 2, 3), put(0, 'c', 'x', 4, 5));
    const r = checkHistory(h, { timeoutMs: 25, now: clock });
    assert.equal(r.verdict, 'unknown');
    assert.ok(
      r.unknownKeys.length >= 1 && r.unknownKeys.length < 3,
      `unknown keys: ${r.unknownKeys.join(',')}`,
    );
  });

  test('options are validated with named errors', () => {
    assert.throws(
      () => checkHistory(history(), { timeoutMs: -1 }),
      /options.timeoutMs must be a number >= 0/,
    );
    assert.throws(
      () => checkHistory(history(), { maxStepsPerKey: 0 }),
      /options.maxStepsPerKey must be a positive integer/,
    );
  });

  test('the history is validated before checking', () => {
    const bad = {
      operations: [{ client: 0, op: 'put', key: 'k', value: 'a', call: 5, return: 1 }],
    };
    assert.throws(
      () => checkHistory(bad as never),
      /operations\[0\]\.return: must be an integer >= call/,
    );
  });

  test('a long single-key history with concurrency and repeated values is decided', () => {
    // 3000 operations on one key from 6 clients, each put's value read right after.
    const ops = [];
    let t = 0;
    for (let i = 0; i < 500; i++) {
      const v = String(i % 3);
      ops.push(put(0, 'k', v, t, t + 5), get(1, 'k', v, t + 6, t + 7));
      ops.push(put(2, 'k', 'other', t + 1, t + 4), get(3, 'k', v, t + 6, t + 8));
      ops.push(get(4, 'k', v, t + 6, t + 9), put(5, 'k', v, t + 2, t + 5));
      t += 10;
    }
    assert.equal(isLinearizable(history(...ops)), true);
    ops.push(get(6, 'k', 'other', t + 1, t + 2));
    assert.equal(isLinearizable(history(...ops)), false);
  });
});
