/**
 * A client's operations in flight, by request id. Ids are handed out in increasing order and
 * most operations finish in about the order they started, so an operation goes in slot
 * `reqId mod slots` of an array, and only one whose slot an older operation still holds (a slow
 * or retried one) goes in a Map. A Map of every operation rehashed itself under the churn of a
 * load generator's set and delete per operation.
 */
export class InFlightTable<T extends { readonly reqId: number }> {
  readonly #slots: (T | undefined)[];
  readonly #mask: number;
  readonly #spill = new Map<number, T>();
  #size = 0;

  /** `slots`: a power of two, best above the operations usually in flight at once. */
  constructor(slots: number) {
    if (!Number.isInteger(slots) || slots < 1 || slots > 2 ** 30 || (slots & (slots - 1)) !== 0) {
      throw new RangeError(
        `InFlightTable: slots must be a power of two in [1, 2^30], got ${slots}`,
      );
    }
    this.#slots = new Array<T | undefined>(slots).fill(undefined);
    this.#mask = slots - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** Adds `op`; its reqId must not be in the table. */
  add(op: T): void {
    const i = op.reqId & this.#mask;
    if (this.#slots[i] === undefined) this.#slots[i] = op;
    else this.#spill.set(op.reqId, op);
    this.#size++;
  }

  get(reqId: number): T | undefined {
    const op = this.#slots[reqId & this.#mask];
    if (op !== undefined && op.reqId === reqId) return op;
    return this.#spill.size > 0 ? this.#spill.get(reqId) : undefined;
  }

  /** Removes and returns the operation of `reqId`, if it is in the table. */
  take(reqId: number): T | undefined {
    const i = reqId & this.#mask;
    const op = this.#slots[i];
    if (op !== undefined && op.reqId === reqId) {
      this.#slots[i] = undefined;
      this.#size--;
      return op;
    }
    if (this.#spill.size === 0) return undefined;
    const spilled = this.#spill.get(reqId);
    if (spilled !== undefined) {
      this.#spill.delete(reqId);
      this.#size--;
    }
    return spilled;
  }

  /** Removes the operations `which` picks and returns them (in no particular order). */
  takeWhere(which: (op: T) => boolean): T[] {
    const taken: T[] = [];
    if (this.#size === 0) return taken;
    for (let i = 0; i < this.#slots.length; i++) {
      const op = this.#slots[i];
      if (op !== undefined && which(op)) {
        this.#slots[i] = undefined;
        taken.push(op);
      }
    }
    for (const [reqId, op] of this.#spill) {
      if (which(op)) {
        this.#spill.delete(reqId);
        taken.push(op);
      }
    }
    this.#size -= taken.length;
    return taken;
  }
}
