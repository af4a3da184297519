import assert from 'node:assert/strict';

/** A set of small integers in [0, capacity) with O(1) add, remove and has. */
export class DenseSet {
  readonly items: Int32Array;
  private readonly at: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.items = new Int32Array(capacity);
    this.at = new Int32Array(capacity).fill(-1);
  }

  has(x: number): boolean {
    return (this.at[x] as number) >= 0;
  }

  add(x: number): void {
    assert.ok(!this.has(x));
    this.at[x] = this.size;
    this.items[this.size++] = x;
  }

  remove(x: number): void {
    const i = this.at[x] as number;
    assert.ok(i >= 0);
    const last = this.items[--this.size] as number;
    this.items[i] = last;
    this.at[last] = i;
    this.at[x] = -1;
  }
}
