import assert from 'node:assert/strict';
import { fmix32, fnv1a32, FNV1A_32_OFFSET, fnv1aStep, murmur3Step } from '@heal/base';
import type { Ts } from '../protocol/timestamp.js';

/** Buckets of a replica's digest unless configured otherwise (a power of two). */
export const DIGEST_BUCKETS_DEFAULT = 4096;
/** Children per Merkle node unless configured otherwise. */
export const DIGEST_FANOUT_DEFAULT = 16;
/** A node hash is two 32-bit lanes, printed as this many lowercase hex characters. */
export const NODE_HASH_HEX_CHARS = 16;

const NODE_HASH_PATTERN = /^[0-9a-f]{16}$/;
/** Seeds of the two lanes: distinct so the lanes hash independently. */
const LANE0_SEED = 0x9747b28c | 0;
const LANE1_SEED = 0x2f6b3a1d;
const TWO_POW_32 = 0x1_0000_0000;

/** What one `(key, ts)` pair adds to its bucket (see `BucketDigest.element`). */
export interface DigestElement {
  bucket: number;
  /** u32 */
  lane0: number;
  /** u32 */
  lane1: number;
}

/** Throws a RangeError naming `field` unless `hash` is a node hash as `BucketDigest` prints it. */
export function assertNodeHash(hash: string, field: string): void {
  if (!NODE_HASH_PATTERN.test(hash)) {
    const expected = `${NODE_HASH_HEX_CHARS} lowercase hex characters`;
    throw new RangeError(`${field} must be ${expected}, got ${JSON.stringify(hash)}`);
  }
}

// Hashes stay int32 between these functions (see @heal/base's hash.ts); Uint32Array stores wrap them.

/** One lane of the 64-bit value of `(key, ts)`, from that lane's key hash. */
function elementLane(keyHash: number, ts: Ts, seed: number): number {
  let h = murmur3Step(seed, keyHash);
  h = murmur3Step(h, ts.version | 0);
  h = murmur3Step(h, Math.floor(ts.version / TWO_POW_32));
  h = murmur3Step(h, ts.cid);
  return fmix32(h);
}

/** Runs on every apply: `assert(cond, msg)` allocates its rest arguments, `assert.fail` does not. */
function assertTs(ts: Ts): void {
  if (!(Number.isSafeInteger(ts.version) && ts.version >= 0)) {
    assert.fail('ts.version is a safe integer >= 0');
  }
  if (!(Number.isInteger(ts.cid) && ts.cid >= 0 && ts.cid < TWO_POW_32)) {
    assert.fail('ts.cid is a uint32');
  }
}

function hex8(word: number): string {
  return word.toString(16).padStart(8, '0');
}

/**
 * The digest of one replica's store (ARCHITECTURE.md §6, HEAL step 4): the keys are split into buckets,
 * each bucket keeps a hash of its set of `(key, ts)` pairs, and a Merkle tree with `fanout`
 * children per node sits over the buckets (level 0 is the root, the last level the buckets).
 *
 * A pair's value is 64 bits in two independent 32-bit lanes; a bucket's lane is the sum mod 2^32
 * of its pairs' lanes, so removing a pair is exact and the hash does not depend on apply order.
 * `update` runs on every apply at every replica: it allocates nothing, reads the key once, and
 * only marks the bucket's ancestors dirty (at most one per level); queries recompute the dirty
 * nodes they read.
 * Owned by one replica's actor (not shared between threads).
 */
export class BucketDigest {
  readonly buckets: number;
  readonly fanout: number;
  readonly #mask: number;
  /** Nodes per level, root (1) first, buckets last. */
  readonly #sizes: readonly number[];
  /** Per level, two words per node: lane 0 at 2i, lane 1 at 2i+1. The last level is the buckets. */
  readonly #hashes: readonly Uint32Array[];
  /**
   * Per internal level, 1 where the node's stored hash is stale. Invariant: a dirty node's
   * parent is dirty, so marking can stop at the first ancestor already marked.
   */
  readonly #dirty: readonly Uint8Array[];
  /** The last key's two lane hashes (see #hashKey). */
  #h0 = 0;
  #h1 = 0;

  constructor(buckets = DIGEST_BUCKETS_DEFAULT, fanout = DIGEST_FANOUT_DEFAULT) {
    const powerOfTwo = Number.isInteger(buckets) && buckets >= 1 && (buckets & (buckets - 1)) === 0;
    if (!powerOfTwo || buckets > 2 ** 30) {
      throw new RangeError(`buckets must be a power of two in 1..2^30, got ${buckets}`);
    }
    if (!Number.isInteger(fanout) || fanout < 2) {
      throw new RangeError(`fanout must be an integer >= 2, got ${fanout}`);
    }
    this.buckets = buckets;
    this.fanout = fanout;
    this.#mask = buckets - 1;
    const sizes = [buckets];
    while (sizes[0]! > 1) sizes.unshift(Math.ceil(sizes[0]! / fanout));
    this.#sizes = sizes;
    this.#hashes = sizes.map((n) => new Uint32Array(2 * n));
    // All internal nodes start stale so that the first query computes the empty tree.
    this.#dirty = sizes.slice(0, -1).map((n) => new Uint8Array(n).fill(1));
  }

  /** Levels of the tree: the root level 0 through the bucket level `levels - 1`. */
  get levels(): number {
    return this.#sizes.length;
  }

  /** The bucket of `key`. */
  bucketOf(key: string): number {
    return fmix32(fnv1a32(key)) & this.#mask;
  }

  /**
   * Records that `key` went from `before` to `after` (undefined: absent). The caller states
   * `before` truthfully: the digest cannot check that it held that pair.
   */
  update(key: string, before: Ts | undefined, after: Ts | undefined): void {
    if (before === after) return;
    if (before !== undefined && after !== undefined) {
      if (before.version === after.version && before.cid === after.cid) return;
    }
    const bucket = this.#hashKey(key);
    const leaf = this.#hashes[this.#hashes.length - 1]!;
    if (before !== undefined) {
      assertTs(before);
      leaf[2 * bucket] = leaf[2 * bucket]! - elementLane(this.#h0, before, LANE0_SEED);
      leaf[2 * bucket + 1] = leaf[2 * bucket + 1]! - elementLane(this.#h1, before, LANE1_SEED);
    }
    if (after !== undefined) {
      assertTs(after);
      leaf[2 * bucket] = leaf[2 * bucket]! + elementLane(this.#h0, after, LANE0_SEED);
      leaf[2 * bucket + 1] = leaf[2 * bucket + 1]! + elementLane(this.#h1, after, LANE1_SEED);
    }
    this.#markDirty(bucket);
  }

  /**
   * What the pair `(key, ts)` adds to its bucket: the bucket and its two lanes (u32). A medium
   * that keeps the digest of what it holds sums these per bucket (see `bucketLanes`).
   */
  element(key: string, ts: Ts): DigestElement {
    assertTs(ts);
    const bucket = this.#hashKey(key);
    return {
      bucket,
      lane0: elementLane(this.#h0, ts, LANE0_SEED) >>> 0,
      lane1: elementLane(this.#h1, ts, LANE1_SEED) >>> 0,
    };
  }

  /** A copy of the buckets' lanes: lane 0 of bucket `b` at `2b`, lane 1 at `2b + 1`. */
  bucketLanes(): Uint32Array {
    return this.#hashes[this.#hashes.length - 1]!.slice();
  }

  /**
   * Replaces every bucket's lanes (as `bucketLanes` returns them, e.g. the sums a medium kept of
   * its records' elements): the digest then holds exactly those pairs. O(buckets).
   */
  assignBucketLanes(lanes: Uint32Array): void {
    const leaf = this.#hashes[this.#hashes.length - 1]!;
    if (!(lanes instanceof Uint32Array) || lanes.length !== leaf.length) {
      throw new RangeError(
        `bucket lanes must be a Uint32Array of ${leaf.length} (2 per bucket), got ${lanes instanceof Uint32Array ? lanes.length : String(lanes)}`,
      );
    }
    leaf.set(lanes);
    for (const dirty of this.#dirty) dirty.fill(1);
  }

  /**
   * The lanes' key hashes in one pass: FNV-1a as in fnv1a32, and Murmur3 for lane 1, of another
   * family so that a collision in one lane is not one in both. Sets #h0 and #h1 (no allocation:
   * `update` runs on every apply); returns the key's bucket.
   */
  #hashKey(key: string): number {
    let h0 = FNV1A_32_OFFSET;
    let h1 = LANE1_SEED;
    for (let i = 0; i < key.length; i++) {
      const unit = key.charCodeAt(i);
      h0 = fnv1aStep(h0, unit);
      h1 = murmur3Step(h1, unit);
    }
    this.#h0 = h0;
    this.#h1 = fmix32(h1 ^ key.length);
    return fmix32(h0) & this.#mask;
  }

  /** Marks the bucket's ancestors stale, up to the first one already marked. */
  #markDirty(bucket: number): void {
    let index = bucket;
    for (let level = this.#dirty.length - 1; level >= 0; level--) {
      index = Math.floor(index / this.fanout);
      const dirty = this.#dirty[level]!;
      if (dirty[index] === 1) break;
      dirty[index] = 1;
    }
  }

  /** The root: equal at two digests of one shape iff they hold the same pairs (bar collisions). */
  root(): string {
    return this.nodes(0, [0])[0]!;
  }

  /** The current hashes of the nodes `indices` of `level`, in that order. */
  nodes(level: number, indices: readonly number[]): string[] {
    this.#checkLevel(level);
    const hashes = this.#hashes[level]!;
    return indices.map((index) => {
      this.#checkIndex(level, index);
      this.#refresh(level, index);
      return hex8(hashes[2 * index]!) + hex8(hashes[2 * index + 1]!);
    });
  }

  /** The indices, at `level + 1`, of the children of node `index` of `level`. */
  childrenOf(level: number, index: number): number[] {
    this.#checkLevel(level);
    if (level === this.levels - 1) {
      throw new RangeError(`level ${level} is the bucket level: buckets have no children`);
    }
    this.#checkIndex(level, index);
    const first = index * this.fanout;
    const end = Math.min(first + this.fanout, this.#sizes[level + 1]!);
    const children: number[] = [];
    for (let child = first; child < end; child++) children.push(child);
    return children;
  }

  /** Recomputes node `index` of `level` if stale, and first its stale descendants. */
  #refresh(level: number, index: number): void {
    const dirty = this.#dirty[level];
    if (dirty === undefined || dirty[index] === 0) return;
    const childHashes = this.#hashes[level + 1]!;
    const first = index * this.fanout;
    const end = Math.min(first + this.fanout, this.#sizes[level + 1]!);
    // The lanes of a node fold both lanes of every child, in child order, each with its own seed.
    let lane0 = LANE0_SEED;
    let lane1 = LANE1_SEED;
    for (let child = first; child < end; child++) {
      this.#refresh(level + 1, child);
      const c0 = childHashes[2 * child]!;
      const c1 = childHashes[2 * child + 1]!;
      lane0 = murmur3Step(murmur3Step(lane0, c0), c1);
      lane1 = murmur3Step(murmur3Step(lane1, c1), c0);
    }
    const hashes = this.#hashes[level]!;
    hashes[2 * index] = fmix32(lane0 ^ (end - first));
    hashes[2 * index + 1] = fmix32(lane1 ^ (end - first));
    dirty[index] = 0;
  }

  #checkLevel(level: number): void {
    if (!Number.isInteger(level) || level < 0 || level >= this.levels) {
      throw new RangeError(`level must be an integer in 0..${this.levels - 1}, got ${level}`);
    }
  }

  #checkIndex(level: number, index: number): void {
    const size = this.#sizes[level]!;
    if (!Number.isInteger(index) || index < 0 || index >= size) {
      const range = `0..${size - 1}`;
      throw new RangeError(`index at level ${level} must be an integer in ${range}, got ${index}`);
    }
  }
}

/** The bucket lanes of the default-shaped digest of `pairs` (a medium that computes it from its records). */
export function digestLanesOf(
  pairs: Iterable<{ readonly key: string; readonly ts: Ts }>,
): Uint32Array {
  const digest = new BucketDigest();
  for (const { key, ts } of pairs) digest.update(key, undefined, ts);
  return digest.bucketLanes();
}
