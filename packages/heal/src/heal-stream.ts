import type { RecoveryContext } from '@heal/kv/replica';
import { recordWireBytes } from '@heal/kv/replica';
import { HEAL_BATCH_MAX_BYTES, HEAL_BATCH_MAX_ENTRIES, type HealEntry } from './heal-messages.js';

/** Batches in flight per replay stream. */
export const HEAL_WINDOW_BATCHES = 8;

/**
 * One source's stream of selected keys to a joiner (ARCHITECTURE.md §6, HEAL step 7): the keys' current
 * records here, in numbered batches of bounded size, at most HEAL_WINDOW_BATCHES unacknowledged,
 * then an end naming the batch count. A record is read when its batch is made, so the joiner
 * gets the newest value (a key gone meanwhile is skipped). Owned by the source's thread.
 */
export class SelectionStream {
  /** Batch `b` covers `keys[starts[b]..starts[b+1])`. */
  readonly #starts: number[] = [];
  #next = 0;
  readonly #acked = new Set<number>();
  #ackedBelow = 0;
  #ended = false;

  constructor(
    readonly keys: string[],
    readonly joiner: number,
    readonly session: number,
    /** Sends the end (with the batch count): the caller knows what else it carries. */
    readonly sendEnd: (ctx: RecoveryContext, batches: number) => void,
    /** Counts the entries sent. */
    readonly stats: { entriesStreamed: number },
  ) {}

  get ended(): boolean {
    return this.#ended;
  }

  /** Every batch is acknowledged. */
  get acked(): boolean {
    return this.#ackedBelow === this.#starts.length;
  }

  /** Sends batches up to the window; the end once every key is in a batch. */
  pump(ctx: RecoveryContext): void {
    while (
      this.#next < this.keys.length &&
      this.#starts.length - this.#ackedBelow < HEAL_WINDOW_BATCHES
    ) {
      const batch = this.#starts.length;
      this.#starts.push(this.#next);
      this.#next = this.#sendBatch(ctx, batch, this.#next, this.keys.length);
    }
    if (this.#next >= this.keys.length && !this.#ended) {
      this.#ended = true;
      this.sendEnd(ctx, this.#starts.length);
    }
  }

  onAck(ctx: RecoveryContext, batch: number): void {
    this.#acked.add(batch);
    while (this.#acked.has(this.#ackedBelow)) this.#acked.delete(this.#ackedBelow++);
    this.pump(ctx);
  }

  /** Sends every unacknowledged batch again, and the end if it was sent. */
  resend(ctx: RecoveryContext): void {
    for (let b = this.#ackedBelow; b < this.#starts.length; b++) {
      if (!this.#acked.has(b))
        this.#sendBatch(ctx, b, this.#starts[b] as number, this.#starts[b + 1] ?? this.keys.length);
    }
    if (this.#ended) this.sendEnd(ctx, this.#starts.length);
  }

  /** Sends keys[from..) up to the batch bounds (or `end`); returns where it stopped. */
  #sendBatch(ctx: RecoveryContext, batch: number, from: number, end: number): number {
    const records = ctx.records();
    const entries: HealEntry[] = [];
    let bytes = 0;
    let i = from;
    while (i < end && entries.length < HEAL_BATCH_MAX_ENTRIES && bytes < HEAL_BATCH_MAX_BYTES) {
      const record = records.get(this.keys[i++] as string);
      if (!record) continue;
      entries.push({
        key: record.key,
        version: record.ts.version,
        cid: record.ts.cid,
        value: record.value,
        state: record.state,
        origin: record.origin,
        seq: record.seq,
      });
      bytes += recordWireBytes(record);
    }
    this.stats.entriesStreamed += entries.length;
    ctx.send(this.joiner, { kind: 'heal-batch', session: this.session, batch, entries });
    return i;
  }
}
