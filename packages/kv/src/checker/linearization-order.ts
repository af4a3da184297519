import assert from 'node:assert/strict';

/**
 * The linearization the stack stands for: a retro-placed dead put goes just before the latest
 * state-changing put under it in the stack (in stack order when several go there).
 */
export function linearizationOrder(
  stack: Int32Array,
  retro: Uint8Array,
  len: number,
  isPut: Uint8Array,
): number[] {
  const before = new Map<number, number[]>(); // stack index of a put -> dead puts placed before it
  let lastPut = -1;
  for (let d = 0; d < len; d++) {
    const op = stack[d] as number;
    if (retro[d] === 1) {
      assert.ok(lastPut >= 0, 'a retro-placed put follows a put');
      const list = before.get(lastPut);
      if (list === undefined) before.set(lastPut, [op]);
      else list.push(op);
    } else if (isPut[op] === 1) {
      lastPut = d;
    }
  }
  const out: number[] = [];
  for (let d = 0; d < len; d++) {
    if (retro[d] === 1) continue;
    const list = before.get(d);
    if (list !== undefined) out.push(...list);
    out.push(stack[d] as number);
  }
  assert.equal(out.length, len);
  return out;
}
