/**
 * A hash set of short integer tuples (search configurations), in typed arrays: open addressing
 * over a slot table, tuples stored back to back in one pool. Exact: a hit means the same
 * tuple. Grows by doubling; owned by one search.
 */
import { fmix32, murmur3Step } from '@heal/base';

/** Bounds on the initial number of slots; the table doubles when 3/4 full. */
const MEMO_MIN_SLOTS = 64;
const MEMO_MAX_INITIAL_SLOTS = 1 << 16;

export class TupleSet {
  private slots: Int32Array<ArrayBuffer>; // entry index + 1; 0 = empty
  private size = 0;
  private eHash: Int32Array<ArrayBuffer>;
  private eOff: Int32Array<ArrayBuffer>;
  private eLen: Int32Array<ArrayBuffer>;
  private pool: Int32Array<ArrayBuffer>;
  private poolLen = 0;

  /** `expected`: about how many tuples will be held (sizes the first allocation only). */
  constructor(expected: number) {
    let slots = MEMO_MIN_SLOTS;
    while (slots < 2 * expected && slots < MEMO_MAX_INITIAL_SLOTS) slots *= 2;
    this.slots = new Int32Array(slots);
    this.eHash = new Int32Array(slots);
    this.eOff = new Int32Array(slots);
    this.eLen = new Int32Array(slots);
    this.pool = new Int32Array(slots * 8);
  }

  /** Number of tuples held. */
  get count(): number {
    return this.size;
  }

  /** Adds `key[0 .. len)`; false when it was already there. */
  insertIfAbsent(key: Int32Array, len: number): boolean {
    const h = hashTuple(key, len);
    const mask = this.slots.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = (this.slots[i] as number) - 1;
      if (e < 0) {
        this.slots[i] = this.add(h, key, len) + 1;
        if (this.size * 4 > this.slots.length * 3) this.rehash();
        return true;
      }
      if (this.eHash[e] === h && this.eLen[e] === len && this.equals(e, key, len)) return false;
    }
  }

  private equals(e: number, key: Int32Array, len: number): boolean {
    const off = this.eOff[e] as number;
    for (let k = 0; k < len; k++) if (this.pool[off + k] !== key[k]) return false;
    return true;
  }

  private add(h: number, key: Int32Array, len: number): number {
    const e = this.size++;
    if (e === this.eHash.length) {
      const n = e * 2;
      this.eHash = grow(this.eHash, n);
      this.eOff = grow(this.eOff, n);
      this.eLen = grow(this.eLen, n);
    }
    if (this.poolLen + len > this.pool.length) {
      this.pool = grow(this.pool, Math.max(this.pool.length * 2, this.poolLen + len));
    }
    this.pool.set(key.subarray(0, len), this.poolLen);
    this.eHash[e] = h;
    this.eOff[e] = this.poolLen;
    this.eLen[e] = len;
    this.poolLen += len;
    return e;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let e = 0; e < this.size; e++) {
      let i = (this.eHash[e] as number) & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = e + 1;
    }
    this.slots = slots;
  }
}

/** A 32-bit hash of a tuple (murmur3-style mixing per element, then a finalizer). */
export function hashTuple(key: Int32Array, len: number): number {
  let h = 0x9747b28c ^ len;
  for (let k = 0; k < len; k++) h = murmur3Step(h, key[k] as number);
  return fmix32(h);
}

function grow(a: Int32Array<ArrayBuffer>, length: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(length);
  b.set(a);
  return b;
}

/** Inserts `x` into the sorted run key[from .. len); returns the new length. */
export function insertSorted(key: Int32Array, from: number, len: number, x: number): number {
  let i = len;
  while (i > from && (key[i - 1] as number) > x) {
    key[i] = key[i - 1] as number;
    i--;
  }
  key[i] = x;
  return len + 1;
}
