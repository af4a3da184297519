import type { ActorId, MessageDef } from '@heal/actors';
import type { KeyRecord } from '../storage/key-record.js';
import type { StrategyMessage } from './messages.js';
import type { Timing } from './timing.js';
import type { View } from './view.js';

/**
 * What a recovery strategy may see and do at one replica. Handed to every hook; valid only
 * during the call.
 */
export interface RecoveryContext {
  readonly self: ActorId;
  readonly view: View;
  readonly timing: Timing;
  now(): number;
  random(): number;
  /** Sends a strategy message; epoch and sender are filled in. */
  send(to: ActorId, msg: { kind: string; [field: string]: unknown }): void;
  /** This replica's records (live: read what is needed during the call). */
  records(): ReadonlyMap<string, KeyRecord>;
  /** Installs a record from a recovery source if it is newer; returns whether it was applied. */
  installRecovered(entry: KeyRecord, from: ActorId): boolean;
  /** The recovering replica is up to date: it replays its own Invalid records and serves reads. */
  finishRecovery(): void;
  /** Whether this replica is recovering (a ShadowReplica: acks writes, serves no reads). */
  readonly recovering: boolean;
}

/**
 * A recovery strategy plugs into every replica (DESIGN section 1: `kv` defines this, `heal`
 * implements it). The replica calls the hooks; the strategy owns its messages (type codes 100+).
 */
export interface RecoveryStrategy {
  readonly name: string;
  /** This replica was admitted by `view` after a restart or removal: it must catch up. */
  onAdmitted(ctx: RecoveryContext): void;
  /** A newer view was installed (also called before onAdmitted on the admitting view). */
  onViewInstalled(ctx: RecoveryContext, previous: View): void;
  /** A record changed here: a value taken from an INV, a validation, an own write, a recovery install. */
  onApply?(ctx: RecoveryContext, record: KeyRecord): void;
  /** A write this replica coordinated became Valid. */
  onCommit?(ctx: RecoveryContext, record: KeyRecord): void;
  receive(ctx: RecoveryContext, msg: StrategyMessage): void;
  tick(ctx: RecoveryContext): void;
  stats?(): Record<string, number>;
}

/** How a module builds a strategy: its name, its message definitions, and a constructor. */
export interface RecoveryStrategyFactory {
  readonly name: string;
  readonly messages: readonly MessageDef[];
  create(self: ActorId): RecoveryStrategy;
}
