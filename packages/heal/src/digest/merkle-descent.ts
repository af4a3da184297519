import assert from 'node:assert/strict';
import { assertNodeHash, compareTs, type BucketDigest, type Ts } from '@heal/kv/replica';

/** Node hashes asked of the peer in one request; a level with more to compare takes several. */
export const DESCENT_NODES_MAX = 4096;

/** Node hashes a descent needs from the peer, who answers `peerDigest.nodes(level, indices)`. */
export interface NodeRequest {
  readonly level: number;
  readonly indices: number[];
}

/**
 * A Merkle descent run by the comparing side (the Buddy) against a peer's tree of the same shape
 * (buckets and fanout): starting from the peer's root, it asks for the children of every node
 * that differs, level by level, until it knows the differing buckets. A pure state machine: the
 * caller carries `next()` to the peer and its answer to `onRemote`. One request is outstanding
 * at a time, of at most `requestNodesMax` nodes, and `next()` repeats it until it is answered:
 * a lost message is resent by asking again.
 *
 * Both trees may change while the descent runs (writes go on); each level is compared with the
 * local tree as it is when the answer arrives. Writes taken meanwhile reach the peer as INVs.
 */
export class MerkleDescent {
  readonly #local: BucketDigest;
  readonly #requestNodesMax: number;
  /** Level of the nodes in `#pending`. */
  #level = 0;
  /** Nodes of `#level` to compare, ascending; those from `#offset` on are not compared yet. */
  #pending: number[] = [];
  /** The outstanding request is the batch of `#pending` starting here. */
  #offset = 0;
  /** Children of the differing nodes of `#level`: the nodes of the next level to compare. */
  #nextPending: number[] = [];
  readonly #differing: number[] = [];
  #rounds = 0;

  constructor(local: BucketDigest, remoteRoot: string, requestNodesMax = DESCENT_NODES_MAX) {
    assertNodeHash(remoteRoot, 'remoteRoot');
    if (!Number.isInteger(requestNodesMax) || requestNodesMax < 1) {
      throw new RangeError(`requestNodesMax must be a positive integer, got ${requestNodesMax}`);
    }
    this.#local = local;
    this.#requestNodesMax = requestNodesMax;
    if (local.root() !== remoteRoot) this.#descend(0, [0]);
    this.#advance();
  }

  /** The node hashes needed next from the peer; undefined when the descent is done. */
  next(): NodeRequest | undefined {
    if (this.done) return undefined;
    const end = this.#offset + this.#requestNodesMax;
    return { level: this.#level, indices: this.#pending.slice(this.#offset, end) };
  }

  /**
   * Takes the peer's hashes of the nodes `indices` of `level`. Returns false, changing nothing,
   * when they do not answer the outstanding request (a duplicate or stale answer). Throws a
   * RangeError when they answer it with malformed hashes.
   */
  onRemote(level: number, indices: readonly number[], hashes: readonly string[]): boolean {
    const request = this.next();
    if (request === undefined || level !== request.level) return false;
    if (!sameIndices(indices, request.indices)) return false;
    if (hashes.length !== indices.length) {
      const counts = `${hashes.length} hashes for ${indices.length} nodes`;
      throw new RangeError(`answer for level ${level} has ${counts}`);
    }
    hashes.forEach((hash, i) => {
      assertNodeHash(hash, `hash of node ${indices[i]} at level ${level}`);
    });
    const localHashes = this.#local.nodes(level, indices);
    const differing = indices.filter((_, i) => localHashes[i] !== hashes[i]);
    this.#offset += indices.length;
    this.#rounds++;
    this.#descend(level, differing);
    this.#advance();
    return true;
  }

  /** True once every differing bucket is known. */
  get done(): boolean {
    return this.#offset === this.#pending.length;
  }

  /** The buckets whose hashes differ, ascending; only once done. */
  get differingBuckets(): number[] {
    assert(this.done, 'differingBuckets is known only when the descent is done');
    return [...this.#differing];
  }

  /** Requests answered so far. */
  get rounds(): number {
    return this.#rounds;
  }

  /** Takes the differing nodes of `level`: buckets at the last level, else children to compare. */
  #descend(level: number, differing: readonly number[]): void {
    if (level === this.#local.levels - 1) {
      for (const bucket of differing) {
        assert(bucket > (this.#differing.at(-1) ?? -1), 'buckets are found in ascending order');
        this.#differing.push(bucket);
      }
      return;
    }
    for (const index of differing) {
      for (const child of this.#local.childrenOf(level, index)) this.#nextPending.push(child);
    }
  }

  /** Moves to the next level once the current one is compared. */
  #advance(): void {
    if (!this.done || this.#nextPending.length === 0) return;
    this.#level++;
    this.#pending = this.#nextPending;
    this.#offset = 0;
    this.#nextPending = [];
    assert(this.#level < this.#local.levels, 'the descent never goes below the buckets');
  }
}

function sameIndices(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((index, i) => index === b[i]);
}

/**
 * The timestamps of the records whose keys fall in `buckets`, in one pass over `records`
 * (a store's records: one per key).
 */
export function keysInBuckets(
  records: Iterable<{ readonly key: string; readonly ts: Ts }>,
  digest: BucketDigest,
  buckets: ReadonlySet<number>,
): Map<string, Ts> {
  const selected = new Map<string, Ts>();
  for (const { key, ts } of records) {
    if (!buckets.has(digest.bucketOf(key))) continue;
    assert(!selected.has(key), `key ${JSON.stringify(key)} appears in two records`);
    selected.set(key, ts);
  }
  return selected;
}

/**
 * The keys `local` holds at a strictly higher ts than `remote`, or that `remote` lacks: what the
 * comparing side sends. A key where `remote` is newer is the peer's to keep, not to receive.
 */
export function newerAt(local: ReadonlyMap<string, Ts>, remote: ReadonlyMap<string, Ts>): string[] {
  const newer: string[] = [];
  for (const [key, ts] of local) {
    const remoteTs = remote.get(key);
    if (remoteTs === undefined || compareTs(ts, remoteTs) > 0) newer.push(key);
  }
  return newer;
}
