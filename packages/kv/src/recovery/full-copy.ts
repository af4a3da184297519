import type { ActorId } from '@heal/actors/core';
import type {
  RecoveryContext,
  RecoveryStrategyFactory,
  StrategyOptions,
} from '../protocol/recovery-strategy.js';
import { recordWireBytes, type KeyRecord } from '../storage/key-record.js';
import {
  BATCH_MAX_BYTES,
  BATCH_MAX_ENTRIES,
  catchUpMessages,
  toEntry,
  type BatchMark,
  type CatchUpRequestMsg,
  type WireEntry,
} from './catch-up-messages.js';
import { sourceCandidate } from './catch-up-joiner.js';
import { CatchUpRecovery } from './catch-up-recovery.js';
import { admitsJoiner, type SessionBase, type SourceSession } from './catch-up-source.js';
import { readStrategyOptions, RECOVERY_BUFFER_BYTES_DEFAULT } from './strategy-options.js';

/**
 * `full-copy` (ARCHITECTURE.md §6, full-copy), kv's built-in recovery: conventional leaderless
 * recovery. The restarted replica holds back its join and asks one full member, the donor,
 * for its whole store. The donor streams it, then the keys it took meanwhile (a catch-up tail
 * of their current records), then every write it takes, until its view admits the joiner;
 * the joiner joins after the tail, tells the donor once admitted, and serves reads at the
 * donor's final marker. Writes the donor takes once its view admits the joiner reach the
 * joiner as INVs. A replica removed from the view while alive copies again before it rejoins.
 */
export const FULL_COPY = catchUpMessages(130, 'fc', {});

/** A copy in progress at the donor. */
interface CopySession extends SourceSession {
  /** Over the donor's live records: a record is read when its batch is made. */
  readonly cursor: Iterator<KeyRecord>;
  copyDone: boolean;
  /** Keys taken since the copy started, with their bytes (the buffer the budget bounds). */
  readonly dirty: Map<string, number>;
  /** The keys dirty when the copy ended, sent as the catch-up tail. */
  tail: [string, number][];
  tailAt: number;
  /** Bytes of `dirty` plus the unsent tail. */
  bufferedBytes: number;
}

class FullCopyRecovery extends CatchUpRecovery<CopySession> {
  readonly #stats = { fcOverflows: 0, fcTailEntries: 0, fcForwardEntries: 0 };

  constructor(
    readonly self: ActorId,
    readonly bufferBytes: number,
  ) {
    super('full-copy', FULL_COPY, {
      basePhase: 'copy',
      syncedPhase: 'catchUp',
      entryCounts: {
        base: 'copyEntries',
        'catch-up': 'tailEntries',
        synced: 'tailEntries',
        forward: 'forwardEntries',
        final: 'forwardEntries',
      },
      source: (ctx, attempt) => sourceCandidate(ctx.view, ctx.self, attempt),
      requestFields: () => ({}),
    });
  }

  /**
   * A donor records every key it takes (a value, or a validation: the joiner then holds it
   * Valid instead of replaying it) until its view admits the joiner.
   */
  onApply(ctx: RecoveryContext, record: KeyRecord): void {
    for (const s of [...this.source.sessions.values()]) {
      if (admitsJoiner(ctx.view, s)) continue;
      const bytes = recordWireBytes(record);
      s.bufferedBytes += bytes - (s.dirty.get(record.key) ?? 0);
      s.dirty.set(record.key, bytes);
      if (this.#bufferedBytes() > this.bufferBytes) {
        // Over the budget: the copy starts over (the joiner asks again).
        this.#stats.fcOverflows++;
        this.source.abort(ctx, s, 'overflow');
        continue;
      }
      this.source.pump(ctx, s);
    }
  }

  #bufferedBytes(): number {
    let total = 0;
    for (const s of this.source.sessions.values()) total += s.bufferedBytes;
    return total;
  }

  protected override open(
    ctx: RecoveryContext,
    _msg: CatchUpRequestMsg,
    base: SessionBase,
  ): CopySession {
    return {
      ...base,
      mode: 'copy',
      cursor: ctx.records().values(),
      copyDone: false,
      dirty: new Map(),
      tail: [],
      tailAt: 0,
      bufferedBytes: 0,
    };
  }

  protected override fill(
    ctx: RecoveryContext,
    s: CopySession,
  ): { mark: BatchMark; entries: WireEntry[] } | undefined {
    if (!s.copyDone) {
      const entries = this.#copyBatch(s);
      if (entries.length > 0) return { mark: 'base', entries };
    }
    const records = ctx.records();
    if (s.tailAt < s.tail.length || !s.syncedSent) {
      const entries: WireEntry[] = [];
      let bytes = 0;
      while (
        s.tailAt < s.tail.length &&
        entries.length < BATCH_MAX_ENTRIES &&
        bytes < BATCH_MAX_BYTES
      ) {
        const [key, buffered] = s.tail[s.tailAt++] as [string, number];
        s.bufferedBytes -= buffered;
        bytes += pushRecord(entries, records.get(key));
      }
      this.#stats.fcTailEntries += entries.length;
      return { mark: s.tailAt < s.tail.length ? 'catch-up' : 'synced', entries };
    }
    if (s.dirty.size > 0) {
      const entries: WireEntry[] = [];
      let bytes = 0;
      for (const [key, buffered] of s.dirty) {
        if (entries.length >= BATCH_MAX_ENTRIES || bytes >= BATCH_MAX_BYTES) break;
        s.dirty.delete(key);
        s.bufferedBytes -= buffered;
        bytes += pushRecord(entries, records.get(key));
      }
      this.#stats.fcForwardEntries += entries.length;
      return { mark: 'forward', entries };
    }
    if (s.joinerAdmitted && admitsJoiner(ctx.view, s)) return { mark: 'final', entries: [] };
    return undefined;
  }

  /** The next copy batch; at the end of the store, the keys taken meanwhile become the tail. */
  #copyBatch(s: CopySession): WireEntry[] {
    const entries: WireEntry[] = [];
    let bytes = 0;
    while (entries.length < BATCH_MAX_ENTRIES && bytes < BATCH_MAX_BYTES) {
      const next = s.cursor.next();
      if (next.done === true) {
        s.copyDone = true;
        s.tail = [...s.dirty];
        s.dirty.clear();
        break;
      }
      bytes += pushRecord(entries, next.value);
    }
    return entries;
  }

  stats(): Record<string, number> {
    return { ...this.#stats, fcBufferedBytes: this.#bufferedBytes(), ...this.catchUpStats('fc') };
  }
}

/** Adds `record` (if any) to a batch; returns its bytes. */
function pushRecord(entries: WireEntry[], record: KeyRecord | undefined): number {
  if (!record) return 0;
  entries.push(toEntry(record));
  return recordWireBytes(record);
}

/**
 * Options: `bufferBytes` (the shared budget, default RECOVERY_BUFFER_BYTES_DEFAULT = 64 MiB),
 * the donor's bound on the records it keeps for the tail and the forwarded writes.
 */
export const fullCopyRecovery: RecoveryStrategyFactory = {
  name: 'full-copy',
  messages: FULL_COPY.messages,
  create: (self: ActorId, options: StrategyOptions) =>
    new FullCopyRecovery(
      self,
      readStrategyOptions('full-copy', options).positiveInt(
        'bufferBytes',
        RECOVERY_BUFFER_BYTES_DEFAULT,
      ),
    ),
};
