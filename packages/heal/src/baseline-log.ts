import assert from 'node:assert/strict';
import {
  recordWireBytes,
  tsEquals,
  type KeyRecord,
  type Ts,
  type WireEntry,
} from '@heal/kv/replica';

interface LogEntry {
  readonly entry: WireEntry;
  readonly bytes: number;
}

/** Compaction of the consumed prefix happens once it is this long and half the array. */
const COMPACT_MIN_ENTRIES = 1024;

/**
 * The keeper's log of committed writes (leader-incremental): positions 1, 2, ... in the order
 * writes became Valid at the keeper, the oldest truncated past a byte bound. Positions never
 * restart: after `clear` the log is empty at the next position. Owned by the keeper's thread.
 */
export class CommitLog {
  /** Retained entries from `#head` on; the consumed prefix is cleared, then compacted away. */
  #entries: (LogEntry | undefined)[] = [];
  /** Index in `#entries` of position `#firstPos`. */
  #head = 0;
  #firstPos = 1;
  #nextPos = 1;
  #bytes = 0;
  /** Per key, the position and ts of its newest entry. */
  readonly #latest = new Map<string, { pos: number; ts: Ts }>();

  /** The first retained position (the log is empty when it equals `nextPos`). */
  get firstPos(): number {
    return this.#firstPos;
  }

  get nextPos(): number {
    return this.#nextPos;
  }

  /** The last position taken (0 before any). */
  get last(): number {
    return this.#nextPos - 1;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get length(): number {
    return this.#nextPos - this.#firstPos;
  }

  append(record: KeyRecord): number {
    const pos = this.#nextPos++;
    const bytes = recordWireBytes(record);
    this.#entries.push({
      entry: {
        key: record.key,
        version: record.ts.version,
        cid: record.ts.cid,
        value: record.value,
        state: record.state,
        origin: record.origin,
        seq: record.seq,
      },
      bytes,
    });
    this.#bytes += bytes;
    this.#latest.set(record.key, { pos, ts: record.ts });
    return pos;
  }

  /** Drops the oldest entries until at most `maxBytes` remain; returns how many. */
  truncate(maxBytes: number): number {
    let dropped = 0;
    while (this.#bytes > maxBytes && this.length > 0) {
      const oldest = this.#entries[this.#head] as LogEntry;
      this.#entries[this.#head] = undefined;
      this.#head++;
      this.#bytes -= oldest.bytes;
      if (this.#latest.get(oldest.entry.key)?.pos === this.#firstPos)
        this.#latest.delete(oldest.entry.key);
      this.#firstPos++;
      dropped++;
    }
    if (this.#head >= COMPACT_MIN_ENTRIES && this.#head * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    assert(
      this.#entries.length - this.#head === this.length,
      'the array holds exactly the retained positions',
    );
    return dropped;
  }

  clear(): void {
    this.#entries = [];
    this.#head = 0;
    this.#firstPos = this.#nextPos;
    this.#bytes = 0;
    this.#latest.clear();
  }

  /** The entry at a retained position. */
  at(pos: number): WireEntry {
    assert(
      pos >= this.#firstPos && pos < this.#nextPos,
      `log position ${pos} outside [${this.#firstPos}, ${this.#nextPos})`,
    );
    return (this.#entries[this.#head + pos - this.#firstPos] as LogEntry).entry;
  }

  bytesAt(pos: number): number {
    assert(
      pos >= this.#firstPos && pos < this.#nextPos,
      `log position ${pos} outside [${this.#firstPos}, ${this.#nextPos})`,
    );
    return (this.#entries[this.#head + pos - this.#firstPos] as LogEntry).bytes;
  }

  /** Bytes of the entries from `pos` to the end (a scan: for sync decisions only). */
  bytesFrom(pos: number): number {
    let total = 0;
    for (let p = Math.max(pos, this.#firstPos); p < this.#nextPos; p++) total += this.bytesAt(p);
    return total;
  }

  /** The retained position of this write of `key`, if it is the key's newest entry. */
  positionOf(key: string, ts: Ts): number | undefined {
    const latest = this.#latest.get(key);
    return latest && tsEquals(latest.ts, ts) ? latest.pos : undefined;
  }
}
