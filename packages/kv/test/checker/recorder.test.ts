import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HistoryRecorder, checkHistory, parseHistory } from '../../src/index.js';

/** A logical clock: each reading is one tick later. */
function ticks(): () => number {
  let t = 0;
  return () => t++;
}

describe('HistoryRecorder', () => {
  test('records invoke/return per operation and client in the file format', () => {
    const rec = new HistoryRecorder(ticks());
    const a = rec.invokePut(0, 'k1', 'a'); // t0
    const b = rec.invokeGet(1, 'k1'); // t1
    rec.returnPut(a); // t2
    rec.returnGet(b, 'a'); // t3
    const c = rec.invokeGet(0, 'k2'); // t4
    rec.returnGet(c, null); // t5
    assert.deepEqual(JSON.parse(JSON.stringify(rec)), {
      operations: [
        { client: 0, op: 'put', key: 'k1', value: 'a', call: 0, return: 2 },
        { client: 1, op: 'get', key: 'k1', value: 'a', call: 1, return: 3 },
        { client: 0, op: 'get', key: 'k2', value: null, call: 4, return: 5 },
      ],
    });
    assert.equal(rec.size, 3);
    assert.equal(checkHistory(parseHistory(rec.serialize())).verdict, 'ok');
  });

  test('operations without a response are pending: return null, get value null', () => {
    const rec = new HistoryRecorder(ticks());
    rec.invokePut(0, 'k', 'a');
    rec.invokeGet(1, 'k');
    const h = parseHistory(rec.serialize());
    assert.deepEqual(
      h.operations.map((o) => [o.op, o.value, o.return]),
      [
        ['put', 'a', null],
        ['get', null, null],
      ],
    );
  });

  test('a client with an operation outstanding cannot start another (use a new id after a timeout)', () => {
    const rec = new HistoryRecorder(ticks());
    rec.invokePut(0, 'k', 'a');
    assert.throws(() => rec.invokeGet(0, 'k'), /client 0 still has operation 0 outstanding/);
    assert.doesNotThrow(() => rec.invokeGet(1, 'k'));
  });

  test('the clock must be integer ticks that never go back and advance between a return and the next call', () => {
    let t = 5;
    const rec = new HistoryRecorder(() => t);
    const a = rec.invokePut(0, 'k', 'a');
    rec.returnPut(a);
    assert.throws(
      () => rec.invokeGet(0, 'k'),
      /client 0 calls at tick 5, not after its previous return at tick 5/,
    );
    t = 4;
    assert.throws(() => rec.invokeGet(1, 'k'), /the clock went back from 5 to 4/);
    t = 6.5;
    assert.throws(() => rec.invokeGet(1, 'k'), /the clock must return integer ticks, got 6.5/);
  });

  test('misuse is rejected with named errors', () => {
    const rec = new HistoryRecorder(ticks());
    const a = rec.invokePut(0, 'k', 'a');
    assert.throws(() => rec.returnGet(a, 'x'), /operation 0 is a put, not a get/);
    rec.returnPut(a);
    assert.throws(() => rec.returnPut(a), /operation 0 already returned/);
    assert.throws(() => rec.returnPut(7), /no operation 7/);
    assert.throws(() => rec.invokeGet(-1, 'k'), /client must be an integer >= 0, got -1/);
    assert.throws(() => rec.invokePut(2, 'k', null as unknown as string), /value must be a string/);
  });
});
