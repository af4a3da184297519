import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';

/** A record that can be listed: `invalidSeq` is its live entry's number, 0 when it has none. */
export interface InvalidListed {
  readonly key: string;
  invalidSeq: number;
}

/** Stale entries tolerated before the arrays are rebuilt (beyond twice the live ones). */
const COMPACT_SLACK = 1024;

/**
 * The keys left Invalid at a replica, oldest first, each with since when and who sent its INV
 * (ARCHITECTURE.md §3, replay). A FIFO of parallel arrays whose entries the records point back
 * to, instead of a Map by key: every INV adds a key and every VAL removes it, and a Map paid a
 * hash lookup, an entry object and table churn for each. A removed or re-added key leaves a
 * stale entry behind; the head skips stale entries and a rebuild drops them once they outnumber
 * the live ones.
 */
export class InvalidKeys<R extends InvalidListed> {
  #records: R[] = [];
  #sinceMs: number[] = [];
  #from: ActorId[] = [];
  /** Number of the entry at index 0 (entry numbers grow by one per add, and start at 1). */
  #firstSeq = 1;
  #head = 0;
  #size = 0;
  /** Set during visitOldest, whose indices a rebuild would move. */
  #visiting = false;

  get size(): number {
    return this.#size;
  }

  /** Lists `record` as Invalid since `sinceMs` (at the end: its earlier entry, if any, goes). */
  add(record: R, sinceMs: number, from: ActorId): void {
    if (record.invalidSeq !== 0) this.remove(record);
    record.invalidSeq = this.#firstSeq + this.#records.length;
    this.#records.push(record);
    this.#sinceMs.push(sinceMs);
    this.#from.push(from);
    this.#size++;
    this.#trim();
  }

  /** Unlists `record`; returns since when it was listed, or undefined if it was not. */
  remove(record: R): number | undefined {
    if (record.invalidSeq === 0) return undefined;
    const index = record.invalidSeq - this.#firstSeq;
    assert(this.#records[index] === record, `the invalid entry of ${record.key} points back to it`);
    record.invalidSeq = 0;
    this.#size--;
    return this.#sinceMs[index];
  }

  /**
   * Live entries oldest first, until `visit` returns false or was called `maxEntries` times.
   * `visit` may remove or add entries; those added meanwhile are not visited.
   */
  visitOldest(
    maxEntries: number,
    visit: (record: R, sinceMs: number, from: ActorId) => boolean,
  ): void {
    while (this.#head < this.#records.length && !this.#live(this.#head)) this.#head++;
    const end = this.#records.length;
    this.#visiting = true;
    try {
      for (let i = this.#head, visited = 0; i < end && visited < maxEntries; i++) {
        if (!this.#live(i)) continue;
        visited++;
        if (!visit(this.#records[i] as R, this.#sinceMs[i] as number, this.#from[i] as ActorId))
          break;
      }
    } finally {
      this.#visiting = false;
    }
  }

  /** Live entries oldest first, as a snapshot. */
  entries(): { record: R; sinceMs: number; from: ActorId }[] {
    const out: { record: R; sinceMs: number; from: ActorId }[] = [];
    this.visitOldest(Infinity, (record, sinceMs, from) => {
      out.push({ record, sinceMs, from });
      return true;
    });
    return out;
  }

  #live(index: number): boolean {
    return (this.#records[index] as R).invalidSeq === this.#firstSeq + index;
  }

  /** Moves the head past stale entries; rebuilds the arrays when stale ones dominate. */
  #trim(): void {
    while (this.#head < this.#records.length && !this.#live(this.#head)) this.#head++;
    if (this.#visiting) return;
    if (
      this.#records.length - this.#head <= 2 * this.#size + COMPACT_SLACK &&
      this.#head <= COMPACT_SLACK
    )
      return;
    const records: R[] = [];
    const sinceMs: number[] = [];
    const from: ActorId[] = [];
    const firstSeq = this.#firstSeq + this.#records.length;
    for (let i = this.#head; i < this.#records.length; i++) {
      if (!this.#live(i)) continue;
      const record = this.#records[i] as R;
      record.invalidSeq = firstSeq + records.length;
      records.push(record);
      sinceMs.push(this.#sinceMs[i] as number);
      from.push(this.#from[i] as ActorId);
    }
    this.#records = records;
    this.#sinceMs = sinceMs;
    this.#from = from;
    this.#firstSeq = firstSeq;
    this.#head = 0;
    assert(
      records.length === this.#size,
      `invalid keys: ${records.length} live entries, ${this.#size} counted`,
    );
  }
}
