import type { ActorId, MessageDef } from '@heal/actors/core';
import type { KeyRecord } from '../storage/key-record.js';
import type { StrategyMessage } from './messages.js';
import type { Ts } from './timestamp.js';
import type { Timing } from './timing.js';
import type { VersionVector } from './version-vector.js';
import type { View } from './view.js';

/**
 * What a recovery strategy may see and do at one replica. Handed to every hook; valid only
 * during the call.
 */
export interface RecoveryContext {
  readonly self: ActorId;
  /** 0 at first start; every restart increments it. */
  readonly incarnation: number;
  /** When this incarnation started, and when it had loaded what its medium kept (ms). */
  readonly startedMs: number;
  readonly loadedMs: number;
  /** This replica's installed view; a replica that is not admitted may hold a stale one. */
  readonly view: View;
  /** A member of `view` under this incarnation (false while a restarted replica waits to join). */
  readonly admitted: boolean;
  readonly timing: Timing;
  now(): number;
  random(): number;
  /** Sends a strategy message; epoch and sender are filled in. */
  send(to: ActorId, msg: { kind: string; [field: string]: unknown }): void;
  /**
   * This replica's records (live: read what is needed during the call). After a restart from a
   * medium that keeps them, those not touched yet are read from it: iterating reads them all.
   */
  records(): ReadonlyMap<string, KeyRecord>;
  /**
   * The records whose keys fall in `buckets` of a default-shaped BucketDigest (a descent's
   * differing buckets): `records()` filtered, without reading the others from the medium.
   */
  recordsInBuckets(buckets: ReadonlySet<number>): Iterable<KeyRecord>;
  /**
   * During `onStart`: the digest the medium kept of the records this replica started with, as
   * the bucket lanes of a default BucketDigest (`assignBucketLanes`), so that it need not read
   * them all; undefined when the medium keeps none (then compute it from `records()`).
   */
  loadedDigest(): Uint32Array | undefined;
  /**
   * Records whose write is not known to be at DP here (not Valid, pending, or tracked for DP).
   * During onViewInstalled, also those that were not at DP in the previous view (installing a
   * view re-evaluates DPs against its members).
   */
  notDurable(): Iterable<KeyRecord>;
  /** Installs a record from a recovery source if it is newer; returns whether it was applied. */
  installRecovered(entry: KeyRecord, from: ActorId): boolean;
  /**
   * Makes every record this replica holds durable on its medium now (one sync). A recovering
   * replica calls it before it tells its source that it holds what was streamed: those writes
   * reached their DP while it was out, so nobody would hand them to a later Buddy or keeper.
   */
  persistRecovered(): void;
  /** The recovering replica is up to date: it replays its own Invalid records and serves reads. */
  finishRecovery(): void;
  /** Whether this replica is recovering (a ShadowReplica: acks writes, serves no reads). */
  readonly recovering: boolean;
  /** What this replica durably holds by write number (live; see VersionVector). */
  readonly versionVector: VersionVector;
}

/**
 * A recovery strategy plugs into every replica (ARCHITECTURE.md §1: `kv` defines this, `heal`
 * implements it). The replica calls the hooks; the strategy owns its messages (type codes 100+).
 */
export interface RecoveryStrategy {
  readonly name: string;
  /** The replica started (or restarted) and loaded what its medium kept. */
  onStart?(ctx: RecoveryContext): void;
  /**
   * A replica that is not a member asks to join only when this says so (default: at once).
   * Strategies that catch up before joining (full copy, leader-incremental) hold it back.
   */
  readyToJoin?(ctx: RecoveryContext): boolean;
  /** This replica was admitted by `view` after a restart or removal: it must catch up. */
  onAdmitted(ctx: RecoveryContext): void;
  /**
   * A newer view was installed (also called before onAdmitted on the admitting view).
   * `wasFull`: this replica was a full member of `previous` (admitted and not recovering).
   */
  onViewInstalled(ctx: RecoveryContext, previous: View, wasFull: boolean): void;
  /**
   * A record changed here: a value taken from an INV, a validation, an own write, a recovery
   * install. `previous` is the key's ts before the change (equal to `record.ts` when only the
   * state changed; undefined for a new key).
   */
  onApply?(ctx: RecoveryContext, record: KeyRecord, previous: Ts | undefined): void;
  /** A write this replica coordinated became Valid. */
  onCommit?(ctx: RecoveryContext, record: KeyRecord): void;
  receive(ctx: RecoveryContext, msg: StrategyMessage): void;
  tick(ctx: RecoveryContext): void;
  stats?(): Record<string, number>;
  /** At the recovering replica, once it serves reads: what its recovery did. */
  report?(): RecoveryReport | undefined;
}

/**
 * What one recovery did, measured at the recovering replica (ARCHITECTURE.md §6): phase
 * durations in milliseconds from its restart (load local state, join/start-to-ack, replay,
 * finalize; strategies name their own phases) and what reached it.
 */
export interface RecoveryReport {
  readonly strategy: string;
  readonly incarnation: number;
  /** When the recovering incarnation started, on its own clock (threads: the shared clock). */
  readonly startedMs: number;
  readonly recoveryMs: number;
  readonly phasesMs: Record<string, number>;
  /** Bytes of every recovery message sent to the recovering replica. */
  readonly bytesMoved: number;
  /** Entries the recovering replica received, and those it applied (newer than its own). */
  readonly entriesReceived: number;
  readonly entriesApplied: number;
  readonly counts: Record<string, number>;
  /**
   * CPU the recovering replica used from its restart to serving reads (ms, the runtime's
   * ActorContext.cpuMs); absent where the runtime measures none.
   */
  readonly cpuMs?: number;
}

/** Strategy parameters from the replica config (serializable: threads get them too). */
export type StrategyOptions = Readonly<Record<string, string | number | boolean>>;

/** How a module builds a strategy: its name, its message definitions, and a constructor. */
export interface RecoveryStrategyFactory {
  readonly name: string;
  readonly messages: readonly MessageDef[];
  create(self: ActorId, options: StrategyOptions): RecoveryStrategy;
}

/** A recovery report as numeric stats (threads read stats), `recovery.` keys; read back by unflattenReport (cluster/thread-cluster.ts). */
export function recoveryReportStats(report: RecoveryReport | undefined): Record<string, number> {
  if (!report) return {};
  const out: Record<string, number> = {
    'recovery.incarnation': report.incarnation,
    'recovery.startedMs': report.startedMs,
    'recovery.recoveryMs': report.recoveryMs,
    'recovery.bytesMoved': report.bytesMoved,
    'recovery.entriesReceived': report.entriesReceived,
    'recovery.entriesApplied': report.entriesApplied,
  };
  if (report.cpuMs !== undefined) out['recovery.cpuMs'] = report.cpuMs;
  for (const [k, v] of Object.entries(report.phasesMs)) out[`recovery.phase.${k}`] = v;
  for (const [k, v] of Object.entries(report.counts)) out[`recovery.count.${k}`] = v;
  return out;
}
