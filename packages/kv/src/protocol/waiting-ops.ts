import type { ByteString } from '@heal/actors/core';
import type { ClientRef } from './replication.js';

/** Client operations waiting at one replica (for a Valid key, a DP or a lease); past it: 'busy'. */
export const MAX_WAITING_OPS = 100_000;

/**
 * Client operations parked at one replica until their key allows them (ARCHITECTURE.md §3): reads
 * of a key that is not Valid, REnf reads of a Valid value not at DP yet, and writes of a key that
 * is not Valid or has a write of this replica pending (one write per key at a time, in arrival
 * order). Bounded in all by MAX_WAITING_OPS. Owned by the replica's thread (part of Replication).
 */
export class WaitingOps {
  readonly #reads = new Map<string, ClientRef[]>();
  /** REnf: since when each key's reads wait for DP. */
  readonly #durable = new Map<string, { sinceMs: number; refs: ClientRef[] }>();
  readonly #writes = new Map<string, { ref: ClientRef; value: ByteString }[]>();
  #count = 0;

  /** Takes one more waiter, unless MAX_WAITING_OPS wait already. */
  admit(): boolean {
    if (this.#count >= MAX_WAITING_OPS) return false;
    this.#count++;
    return true;
  }

  read(key: string, ref: ClientRef): void {
    push(this.#reads, key, ref);
  }

  readDurable(key: string, ref: ClientRef, nowMs: number): void {
    const waiting = this.#durable.get(key);
    if (waiting) waiting.refs.push(ref);
    else this.#durable.set(key, { sinceMs: nowMs, refs: [ref] });
  }

  write(key: string, ref: ClientRef, value: ByteString): void {
    push(this.#writes, key, { ref, value });
  }

  hasWrites(key: string): boolean {
    return this.#writes.size > 0 && this.#writes.has(key);
  }

  /** Whether anything waits for a key to become Valid (a cheap check before the lookups). */
  get anyForValid(): boolean {
    return this.#reads.size > 0 || this.#writes.size > 0;
  }

  get anyForDp(): boolean {
    return this.#durable.size > 0;
  }

  /** The reads of `key`, no longer waiting. */
  takeReads(key: string): ClientRef[] | undefined {
    return this.#take(this.#reads, key);
  }

  takeDurableReads(key: string): ClientRef[] | undefined {
    const waiting = this.#durable.get(key);
    if (!waiting) return undefined;
    this.#durable.delete(key);
    this.#count -= waiting.refs.length;
    return waiting.refs;
  }

  /** The next write of `key` in arrival order, no longer waiting. */
  takeWrite(key: string): { ref: ClientRef; value: ByteString } | undefined {
    const writes = this.#writes.get(key);
    const next = writes?.shift();
    if (writes?.length === 0) this.#writes.delete(key);
    if (next) this.#count--;
    return next;
  }

  #take(map: Map<string, ClientRef[]>, key: string): ClientRef[] | undefined {
    const refs = map.get(key);
    if (!refs) return undefined;
    map.delete(key);
    this.#count -= refs.length;
    return refs;
  }

  /** REnf reads waiting since before `beforeMs` (at most `limit` keys, oldest first). */
  *durableSince(beforeMs: number, limit: number): IterableIterator<string> {
    let scanned = 0;
    for (const [key, { sinceMs }] of this.#durable) {
      if (++scanned > limit || sinceMs > beforeMs) return;
      yield key;
    }
  }

  /** Everything waiting, no longer waiting (the caller tells each client). */
  takeAll(): ClientRef[] {
    const refs: ClientRef[] = [];
    for (const list of this.#reads.values()) refs.push(...list);
    for (const { refs: list } of this.#durable.values()) refs.push(...list);
    for (const list of this.#writes.values()) for (const { ref } of list) refs.push(ref);
    this.#reads.clear();
    this.#durable.clear();
    this.#writes.clear();
    this.#count = 0;
    return refs;
  }
}

function push<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}
