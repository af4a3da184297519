import assert from 'node:assert/strict';
import { fields as f, type ActorId } from '@heal/actors/core';
import {
  admitsJoiner,
  BATCH_MAX_BYTES,
  BATCH_MAX_ENTRIES,
  catchUpMessages,
  CatchUpRecovery,
  incarnationOf,
  MAX_VIEW_MEMBERS,
  readStrategyOptions,
  RECOVERY_BUFFER_BYTES_DEFAULT,
  recordWireBytes,
  sourceCandidate,
  toEntry,
  type BatchMark,
  type CatchUpRequestMsg,
  type KeyRecord,
  type RecoveryContext,
  type RecoveryStrategyFactory,
  type RejectReason,
  type SessionBase,
  type SourceSession,
  type StrategyOptions,
  type SyncMode,
  type View,
  type WireEntry,
} from '@heal/kv/replica';
import { CommitLog } from './baseline-log.js';
import { keeperOf } from './roles.js';

/**
 * `leader-incremental` (ARCHITECTURE.md §6 Recovery), modelled on ZooKeeper's follower sync
 * (LearnerHandler.syncFollower). The keeper, the lowest-id full member of the view, numbers
 * the writes in the order they become Valid there (writes still go through any coordinator)
 * and, at the view that removes a replica it knows in sync, records that replica's resume
 * position: its position then, lowered below any write not known at DP. The restarted replica
 * loads its medium, then asks the keeper to sync before it joins. The keeper answers with a
 * DIFF (the logged writes after the resume position, in order, one per write) when the last
 * `commitLogCount` entries (ZooKeeper's in-memory committed log) cover the gap, or when the
 * older retained entries (standing for the on-medium transaction log) cover it at no more
 * than `snapshotSizeFactor` times the store's bytes; otherwise a SNAP (a fuzzy snapshot of the
 * whole store, then the writes logged since it started). It then forwards new commits until
 * its view admits the replica, then the records of its keys not Valid at that point (its
 * outstanding writes), and ends with a final marker. A full member that is not the keeper
 * names the keeper it knows; asked again as a fallback (no keeper answers), it serves a SNAP.
 */
export const LEADER_INCREMENTAL = catchUpMessages(140, 'li', {
  keptKeys: f.u53(),
  fallback: f.bool(),
});

/** ZooKeeper's defaults: zookeeper.commitLogCount and zookeeper.snapshotSizeFactor. */
export const COMMIT_LOG_COUNT_DEFAULT = 500;
export const SNAPSHOT_SIZE_FACTOR_DEFAULT = 0.33;

export interface LeaderIncrementalOptions {
  /** Bound on the keeper's retained log (the budget every strategy shares). */
  readonly bufferBytes: number;
  /** Newest log entries standing for ZooKeeper's in-memory committed log. */
  readonly commitLogCount: number;
  /** A DIFF reaching past the in-memory entries costs at most this times the store; < 0: never. */
  readonly snapshotSizeFactor: number;
}

/** Reads and checks the options (naming a bad one). */
export function leaderIncrementalOptions(
  options: StrategyOptions,
  strategy = 'leader-incremental',
  commitLogCount = COMMIT_LOG_COUNT_DEFAULT,
): LeaderIncrementalOptions {
  const o = readStrategyOptions(strategy, options);
  const factor = options['snapshotSizeFactor'] ?? SNAPSHOT_SIZE_FACTOR_DEFAULT;
  if (typeof factor !== 'number' || !Number.isFinite(factor)) {
    throw new RangeError(
      `${strategy} option snapshotSizeFactor must be a finite number, got ${JSON.stringify(factor)}`,
    );
  }
  return {
    bufferBytes: o.positiveInt('bufferBytes', RECOVERY_BUFFER_BYTES_DEFAULT),
    commitLogCount: o.positiveInt('commitLogCount', commitLogCount),
    snapshotSizeFactor: factor,
  };
}

interface SyncSession extends SourceSession {
  /** SNAP: over the keeper's live records until the snapshot is sent. */
  snap: Iterator<KeyRecord> | undefined;
  /** The next log position to send. */
  cursor: number;
  /** The catch-up ends with this position (set when the snapshot is sent). */
  target: number | undefined;
  /** The keeper's position when its view admitted the joiner: forwarding stops after it. */
  admitPos: number | undefined;
  /**
   * Keys not Valid at the keeper when its view admitted the joiner (ZooKeeper's outstanding
   * proposals): a write may have completed in the old view while its VAL, from that epoch,
   * never reaches the keeper; the joiner gets the keeper's record before the final marker.
   */
  outstanding: string[];
  outstandingAt: number;
}

class LeaderIncrementalRecovery extends CatchUpRecovery<SyncSession> {
  readonly #log = new CommitLog();
  #keeper = false;
  /** Per removed replica, the last position it is known to hold (or a later ts of each key). */
  readonly #resume = new Map<ActorId, number>();
  /** Members this keeper knows in sync, by incarnation: their removal records a resume position. */
  readonly #inSync = new Map<ActorId, number>();
  readonly #stats = {
    liLogTruncated: 0,
    liDiffs: 0,
    liDiffsFromTxnLog: 0,
    liSnaps: 0,
    liSnapsNoResume: 0,
    liSnapsTruncated: 0,
    liSnapsTooLarge: 0,
    liOverflows: 0,
    liResumesRecorded: 0,
    liResumesUncovered: 0,
  };

  constructor(
    name: string,
    readonly self: ActorId,
    readonly options: LeaderIncrementalOptions,
  ) {
    super(name, LEADER_INCREMENTAL, {
      basePhase: undefined,
      syncedPhase: 'sync',
      entryCounts: {
        base: 'snapEntries',
        'catch-up': 'entries',
        synced: 'entries',
        forward: 'entries',
        final: 'entries',
      },
      // The keeper of this replica's view comes first: the lowest-id full member.
      source: (ctx, attempt) => sourceCandidate(ctx.view, ctx.self, attempt),
      requestFields: (state) => ({ keptKeys: state.keptKeys, fallback: state.fallback }),
    });
  }

  protected override hint(ctx: RecoveryContext): ActorId | undefined {
    const keeper = keeperOf(ctx.view);
    return keeper === ctx.self ? undefined : keeper;
  }

  override onStart(ctx: RecoveryContext): void {
    // At a first start every replica holds the same dataset: the keeper knows them all in sync.
    if (ctx.incarnation === 0) this.#updateRole(ctx, ctx.view.members);
    super.onStart(ctx);
  }

  override onViewInstalled(ctx: RecoveryContext, previous: View): void {
    this.joiner.viewInstalled(ctx, previous);
    if (this.#keeper) this.#recordRemovals(ctx, previous);
    // Like ZooKeeper's new leader syncing followers from their last zxid: the full members of the
    // view hold what this replica holds, so they are in sync at the start of its log.
    this.#updateRole(
      ctx,
      ctx.view.members.filter((m) => !ctx.view.shadows.includes(m.id)),
    );
    for (const s of [...this.source.sessions.values()]) {
      if (s.admitPos === undefined && admitsJoiner(ctx.view, s) && !this.#admitted(ctx, s))
        this.source.abort(ctx, s, 'overflow');
    }
    this.source.viewInstalled(ctx);
    this.#stopLogging();
  }

  /** Keeper: the lowest-id full member of the view. A new keeper knows `known` in sync, from its log's start. */
  #updateRole(ctx: RecoveryContext, known: readonly { id: ActorId; incarnation: number }[]): void {
    const keeper = ctx.admitted && !ctx.recovering && keeperOf(ctx.view) === ctx.self;
    if (keeper === this.#keeper) return;
    this.#keeper = keeper;
    this.#resume.clear();
    this.#inSync.clear();
    if (keeper) for (const m of known) if (m.id !== ctx.self) this.#inSync.set(m.id, m.incarnation);
  }

  /** Resume positions of the replicas in sync that `previous` held and the new view does not. */
  #recordRemovals(ctx: RecoveryContext, previous: View): void {
    for (const m of previous.members) {
      if (
        incarnationOf(ctx.view, m.id) === m.incarnation ||
        this.#inSync.get(m.id) !== m.incarnation
      )
        continue;
      this.#inSync.delete(m.id);
      const pos = this.#resumePosition(ctx);
      if (pos === undefined) {
        this.#stats.liResumesUncovered++;
        this.#resume.delete(m.id);
      } else {
        this.#stats.liResumesRecorded++;
        this.#resume.set(m.id, pos);
      }
      assert(this.#resume.size <= MAX_VIEW_MEMBERS, `at most ${MAX_VIEW_MEMBERS} resume positions`);
    }
  }

  /**
   * The keeper's position, lowered below every logged write not known at DP here (the removed
   * replica may not hold it). A write not Valid here is logged later, after the position.
   * Undefined when such a write is not in the log (before it, or truncated): only a SNAP helps.
   */
  #resumePosition(ctx: RecoveryContext): number | undefined {
    let pos = this.#log.last;
    for (const record of ctx.notDurable()) {
      if (record.state !== 'valid') continue;
      const at = this.#log.positionOf(record.key, record.ts);
      if (at === undefined) return undefined;
      pos = Math.min(pos, at - 1);
    }
    return pos;
  }

  /** The keeper logs; so does any source while a session reads its log. */
  #logging(): boolean {
    return this.#keeper || this.source.sessions.size > 0;
  }

  #stopLogging(): void {
    if (!this.#logging() && this.#log.length > 0) this.#log.clear();
  }

  /** A write became Valid here: the keeper logs it, and forwards it to sessions that need it. */
  onApply(ctx: RecoveryContext, record: KeyRecord): void {
    if (record.state !== 'valid' || !this.#logging()) return;
    this.#log.append(record);
    this.#stats.liLogTruncated += this.#log.truncate(this.options.bufferBytes);
    for (const s of [...this.source.sessions.values()]) {
      const needsLog = s.admitPos === undefined || s.cursor <= s.admitPos;
      if (needsLog && s.cursor < this.#log.firstPos) {
        // The log moved past what this session still has to send: it starts over.
        this.#stats.liOverflows++;
        this.source.abort(ctx, s, 'overflow');
      } else this.source.pump(ctx, s);
    }
    this.#stopLogging();
  }

  protected override open(
    ctx: RecoveryContext,
    msg: CatchUpRequestMsg,
    base: SessionBase,
  ): SyncSession | RejectReason {
    const fallback = msg['fallback'] === true;
    if (!this.#keeper && !fallback) return 'not-source';
    const from = this.#keeper ? this.#diffFrom(ctx, msg) : undefined;
    const mode: SyncMode = from === undefined ? 'snap' : 'diff';
    if (mode === 'snap') this.#stats.liSnaps++;
    else this.#stats.liDiffs++;
    const s: SyncSession = {
      ...base,
      mode,
      snap: from === undefined ? ctx.records().values() : undefined,
      cursor: from ?? this.#log.nextPos,
      target: from === undefined ? undefined : this.#log.last,
      admitPos: undefined,
      outstanding: [],
      outstandingAt: 0,
    };
    if (admitsJoiner(ctx.view, s) && !this.#admitted(ctx, s)) return 'overflow';
    return s;
  }

  /**
   * The keeper's view admits the joiner: its position and its outstanding keys end the
   * stream. Their bytes count against the budget like the log's; false when over it.
   */
  #admitted(ctx: RecoveryContext, s: SyncSession): boolean {
    s.admitPos = this.#log.last;
    let bytes = 0;
    for (const record of ctx.notDurable()) {
      if (record.state === 'valid') continue;
      s.outstanding.push(record.key);
      bytes += recordWireBytes(record);
    }
    if (bytes <= this.options.bufferBytes) return true;
    this.#stats.liOverflows++;
    return false;
  }

  /**
   * ZooKeeper's choice: the first position of a DIFF, or undefined for a SNAP. No resume
   * position (the keeper changed, or never knew the joiner in sync) or an empty medium: SNAP.
   */
  #diffFrom(ctx: RecoveryContext, msg: CatchUpRequestMsg): number | undefined {
    const resume = this.#resume.get(msg.sender);
    if (resume === undefined || msg['keptKeys'] === 0) {
      this.#stats.liSnapsNoResume++;
      return undefined;
    }
    const from = resume + 1;
    assert(
      from <= this.#log.nextPos,
      `resume position ${resume} after the log's end ${this.#log.last}`,
    );
    if (from < this.#log.firstPos) {
      this.#stats.liSnapsTruncated++;
      return undefined;
    }
    const inMemoryFrom = Math.max(
      this.#log.firstPos,
      this.#log.nextPos - this.options.commitLogCount,
    );
    if (from >= inMemoryFrom) return from;
    const factor = this.options.snapshotSizeFactor;
    if (factor >= 0 && withinFactorOfStore(this.#log.bytesFrom(from), factor, ctx.records())) {
      this.#stats.liDiffsFromTxnLog++;
      return from;
    }
    this.#stats.liSnapsTooLarge++;
    return undefined;
  }

  protected override fill(
    ctx: RecoveryContext,
    s: SyncSession,
  ): { mark: BatchMark; entries: WireEntry[] } | undefined {
    if (s.snap) {
      const entries = this.#snapBatch(s);
      if (entries.length > 0) return { mark: 'base', entries };
    }
    const target = s.target;
    assert(target !== undefined, 'the catch-up target is known once the snapshot is sent');
    if (!s.syncedSent) {
      const entries = this.#logBatch(s, target);
      return { mark: s.cursor > target ? 'synced' : 'catch-up', entries };
    }
    const end = s.admitPos ?? this.#log.last;
    if (s.cursor <= Math.min(end, this.#log.last))
      return { mark: 'forward', entries: this.#logBatch(s, end) };
    if (s.admitPos === undefined) return undefined;
    if (s.outstandingAt < s.outstanding.length)
      return { mark: 'forward', entries: this.#outstandingBatch(ctx, s) };
    return s.joinerAdmitted ? { mark: 'final', entries: [] } : undefined;
  }

  /** The keeper's current records of the outstanding keys, with their state. */
  #outstandingBatch(ctx: RecoveryContext, s: SyncSession): WireEntry[] {
    const records = ctx.records();
    const entries: WireEntry[] = [];
    let bytes = 0;
    while (
      s.outstandingAt < s.outstanding.length &&
      entries.length < BATCH_MAX_ENTRIES &&
      bytes < BATCH_MAX_BYTES
    ) {
      const record = records.get(s.outstanding[s.outstandingAt++] as string);
      if (!record) continue;
      entries.push(toEntry(record));
      bytes += recordWireBytes(record);
    }
    return entries;
  }

  #snapBatch(s: SyncSession): WireEntry[] {
    const entries: WireEntry[] = [];
    let bytes = 0;
    while (s.snap && entries.length < BATCH_MAX_ENTRIES && bytes < BATCH_MAX_BYTES) {
      const next = s.snap.next();
      if (next.done === true) {
        s.snap = undefined;
        // Once the view admits the joiner it takes later writes itself: the log past the
        // admission position is neither needed nor kept for this session.
        s.target = Math.min(this.#log.last, s.admitPos ?? Infinity);
      } else {
        entries.push(toEntry(next.value));
        bytes += recordWireBytes(next.value);
      }
    }
    return entries;
  }

  /** Log entries from the session's cursor up to `end` (inclusive), in order. */
  #logBatch(s: SyncSession, end: number): WireEntry[] {
    assert(
      s.cursor >= this.#log.firstPos || s.cursor > Math.min(end, this.#log.last),
      `session cursor ${s.cursor} was truncated`,
    );
    const entries: WireEntry[] = [];
    let bytes = 0;
    const last = Math.min(end, this.#log.last);
    while (s.cursor <= last && entries.length < BATCH_MAX_ENTRIES && bytes < BATCH_MAX_BYTES) {
      entries.push(this.#log.at(s.cursor));
      bytes += this.#log.bytesAt(s.cursor);
      s.cursor++;
    }
    return entries;
  }

  protected override closed(s: SyncSession, done: boolean): void {
    // In sync from the keeper's point of view: a later removal records a resume position.
    if (done && this.#keeper) {
      this.#inSync.set(s.joiner, s.incarnation);
      this.#resume.delete(s.joiner);
    }
    this.#stopLogging();
  }

  stats(): Record<string, number> {
    return {
      ...this.#stats,
      liKeeper: this.#keeper ? 1 : 0,
      liLogEntries: this.#log.length,
      liLogBytes: this.#log.bytes,
      liLogPosition: this.#log.last,
      liResumes: this.#resume.size,
      ...this.catchUpStats('li'),
    };
  }
}

/**
 * Whether `bytes` <= `factor` x the store's bytes as a SNAP would move them (`factor` >= 0;
 * ZooKeeper compares with its latest snapshot's size). It counts records only until the answer
 * is yes: the store can be millions of records, most of them on the medium, where ZooKeeper
 * reads a file's size; a DIFF's bytes bound the count to about bytes / factor.
 */
function withinFactorOfStore(
  bytes: number,
  factor: number,
  records: ReadonlyMap<string, KeyRecord>,
): boolean {
  if (bytes <= 0) return true;
  let total = 0;
  for (const record of records.values()) {
    total += recordWireBytes(record);
    if (bytes <= factor * total) return true;
  }
  return false;
}

/**
 * Options: `bufferBytes` (default 64 MiB), `commitLogCount` (default 500) and
 * `snapshotSizeFactor` (default 0.33), as in LeaderIncrementalOptions.
 */
export const leaderIncrementalRecovery: RecoveryStrategyFactory = {
  name: 'leader-incremental',
  messages: LEADER_INCREMENTAL.messages,
  create: (self: ActorId, options: StrategyOptions) =>
    new LeaderIncrementalRecovery('leader-incremental', self, leaderIncrementalOptions(options)),
};

/**
 * The same keeper with the shared budget in place of ZooKeeper's 500 entries (the benchmarks
 * run both): its in-memory log holds as many commits as `bufferBytes` allows, so a DIFF never
 * needs the snapshot-size test while the gap is retained.
 */
export const leaderIncrementalBudgetRecovery: RecoveryStrategyFactory = {
  name: 'leader-incremental-budget',
  messages: LEADER_INCREMENTAL.messages,
  create: (self: ActorId, options: StrategyOptions) =>
    new LeaderIncrementalRecovery(
      'leader-incremental-budget',
      self,
      leaderIncrementalOptions(options, 'leader-incremental-budget', Number.MAX_SAFE_INTEGER),
    ),
};
