import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '@heal/base';
import { InFlightTable } from '../src/client/in-flight-table.js';

interface Op {
  readonly reqId: number;
  readonly tag: string;
}

test('operations are found and taken by request id, whether in their slot or spilled', () => {
  const table = new InFlightTable<Op>(4);
  const ops = [1, 2, 5, 9, 3].map((reqId) => ({ reqId, tag: `op${reqId}` }));
  for (const op of ops) table.add(op);
  assert.equal(table.size, 5);
  // 5 and 9 share slot 1 with 1: they are spilled, and found all the same.
  for (const op of ops) assert.equal(table.get(op.reqId), op);
  assert.equal(table.get(13), undefined, 'slot 1, never added');
  assert.equal(table.get(6), undefined, 'slot 2 holds 2, not 6');
  assert.equal(table.take(1), ops[0]);
  assert.equal(table.get(1), undefined);
  assert.equal(table.get(5)?.tag, 'op5', 'a spilled op stays found after its slot empties');
  assert.equal(table.take(9)?.tag, 'op9');
  assert.equal(table.take(9), undefined, 'taken once');
  assert.equal(table.size, 3);
  table.add({ reqId: 17, tag: 'op17' });
  assert.equal(table.get(17)?.tag, 'op17', 'the emptied slot takes a new op');
  assert.equal(table.size, 4);
});

test('takeWhere removes exactly what it picks, from slots and spill alike', () => {
  const table = new InFlightTable<Op>(8);
  for (let reqId = 100; reqId < 120; reqId++)
    table.add({ reqId, tag: reqId % 2 === 0 ? 'even' : 'odd' });
  const odd = table.takeWhere((op) => op.tag === 'odd');
  assert.deepEqual(
    odd.map((op) => op.reqId).sort((a, b) => a - b),
    [101, 103, 105, 107, 109, 111, 113, 115, 117, 119],
  );
  assert.equal(table.size, 10);
  for (let reqId = 100; reqId < 120; reqId++)
    assert.equal(table.get(reqId) !== undefined, reqId % 2 === 0, `reqId ${reqId}`);
  assert.equal(table.takeWhere(() => true).length, 10);
  assert.equal(table.size, 0);
  assert.deepEqual(
    table.takeWhere(() => true),
    [],
  );
});

test('against a Map, under a random mix of adds and takes with ids far beyond the slots', () => {
  const prng = new Prng(42);
  const table = new InFlightTable<Op>(16);
  const model = new Map<number, Op>();
  let next = 2 ** 40;
  for (let step = 0; step < 20_000; step++) {
    const r = prng.float();
    if (r < 0.45 || model.size === 0) {
      const op = { reqId: next++, tag: `s${step}` };
      table.add(op);
      model.set(op.reqId, op);
    } else if (r < 0.9) {
      // Mostly the oldest, as replies come back; sometimes any, or one never added.
      const ids = [...model.keys()];
      const reqId =
        prng.float() < 0.2
          ? next + 5
          : (ids[prng.float() < 0.7 ? 0 : prng.int(ids.length)] as number);
      assert.equal(table.take(reqId), model.get(reqId));
      model.delete(reqId);
    } else {
      const cut = next - 1 - prng.int(64);
      const taken = table
        .takeWhere((op) => op.reqId < cut)
        .map((op) => op.reqId)
        .sort((a, b) => a - b);
      const expected = [...model.keys()].filter((id) => id < cut).sort((a, b) => a - b);
      assert.deepEqual(taken, expected);
      for (const id of expected) model.delete(id);
    }
    assert.equal(table.size, model.size);
  }
  for (const [reqId, op] of model) assert.equal(table.get(reqId), op);
});

test('the slot count must be a power of two', () => {
  for (const slots of [0, 3, 6, 1.5, -4, 2 ** 31]) {
    assert.throws(
      () => new InFlightTable<Op>(slots),
      /slots must be a power of two/,
      String(slots),
    );
  }
});
