import assert from 'node:assert/strict';
import type { RegisterOps } from './register-ops.js';

/**
 * The events of one register's completed operations (calls and returns) for its search
 * (register-search.ts): a doubly linked list in time order, calls before returns at equal ticks
 * (equal ticks are concurrent). Linearizing an operation unlinks its two events; undoing it, in
 * last-in first-out order, links them back where they were.
 */
export class EventList {
  /** Node ids: 0 head, 1..2c events, `tail` = 2c + 1 (c completed operations). */
  readonly tail: number;
  readonly next: Int32Array;
  readonly prev: Int32Array;
  readonly nodeOp: Int32Array;
  readonly nodeIsRet: Uint8Array;
  readonly callNode: Int32Array;
  readonly retNode: Int32Array;

  /** `isPending[i]`: operation i has no return (it gets no events). */
  constructor(ops: RegisterOps, isPending: Uint8Array, completed: number) {
    const m = ops.count;
    this.tail = 2 * completed + 1;
    this.next = new Int32Array(this.tail + 1);
    this.prev = new Int32Array(this.tail + 1);
    this.nodeOp = new Int32Array(this.tail + 1).fill(-1);
    this.nodeIsRet = new Uint8Array(this.tail + 1);
    this.callNode = new Int32Array(m).fill(-1);
    this.retNode = new Int32Array(m).fill(this.tail + 1);
    for (let i = 1; i < m; i++)
      assert.ok(
        (ops.call[i - 1] as number) <= (ops.call[i] as number),
        'operations sorted by call',
      );
    const done = Array.from({ length: m }, (_, i) => i).filter((i) => isPending[i] === 0);
    const byRet = [...done].sort(
      (a, b) => (ops.ret[a] as number) - (ops.ret[b] as number) || a - b,
    );
    let node = 1;
    let c = 0;
    for (const r of byRet) {
      const t = ops.ret[r] as number;
      while (c < done.length && (ops.call[done[c] as number] as number) <= t)
        this.#place(node++, done[c++] as number, 0);
      this.#place(node++, r, 1);
    }
    assert.equal(c, done.length);
    assert.equal(node, this.tail);
    for (let n = 0; n <= this.tail; n++) {
      this.next[n] = n + 1;
      this.prev[n] = n - 1;
    }
  }

  #place(node: number, op: number, isRet: 0 | 1): void {
    this.nodeOp[node] = op;
    this.nodeIsRet[node] = isRet;
    if (isRet === 1) this.retNode[op] = node;
    else this.callNode[op] = node;
  }

  /** The first return node from `n` on (`tail` when none is left). */
  firstReturnFrom(n: number): number {
    while (n !== this.tail && this.nodeIsRet[n] === 0) n = this.next[n] as number;
    return n;
  }

  /** Takes the call and return of completed operation `op` out of the list. */
  unlink(op: number): void {
    const { next, prev } = this;
    const c = this.callNode[op] as number;
    const r = this.retNode[op] as number;
    next[prev[c] as number] = next[c] as number;
    prev[next[c] as number] = prev[c] as number;
    next[prev[r] as number] = next[r] as number;
    prev[next[r] as number] = prev[r] as number;
  }

  /** Undoes `unlink(op)` (strictly last-in first-out). */
  relink(op: number): void {
    const { next, prev } = this;
    const c = this.callNode[op] as number;
    const r = this.retNode[op] as number;
    next[prev[r] as number] = r;
    prev[next[r] as number] = r;
    next[prev[c] as number] = c;
    prev[next[c] as number] = c;
  }
}
