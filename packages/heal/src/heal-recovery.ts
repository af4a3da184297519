import type { ActorId } from '@heal/actors/core';
import {
  BucketDigest,
  readStrategyOptions,
  RECOVERY_BUFFER_BYTES_DEFAULT,
  RecoveryMeter,
  tsEquals,
  type KeyRecord,
  type RecoveryContext,
  type RecoveryReport,
  type RecoveryStrategy,
  type RecoveryStrategyFactory,
  type StrategyMessage,
  type StrategyOptions,
  type Ts,
  type View,
} from '@heal/kv/replica';
import { HealBuddy } from './heal-buddy.js';
import { healFaults } from './heal-faults.js';
import { HealJoiner } from './heal-joiner.js';
import { HEAL_MESSAGES } from './heal-messages.js';

/**
 * HEAL (ARCHITECTURE.md §6) at one replica. Every replica may play both roles: the Buddy (or a
 * helper) of a failed replica (heal-buddy.ts) and, after its own restart, the ShadowReplica
 * that joins it (heal-joiner.ts). Both read the replica's digest, kept here on every apply.
 */
class HealRecovery implements RecoveryStrategy {
  readonly name = 'heal';
  readonly #digest = new BucketDigest();
  readonly #meter = new RecoveryMeter('heal', HEAL_MESSAGES);
  readonly #buddy: HealBuddy;
  readonly #joiner: HealJoiner;

  constructor(
    readonly self: ActorId,
    options: StrategyOptions,
  ) {
    const o = readStrategyOptions('heal', options);
    const clusterKey = o.hexKey('clusterKey');
    this.#buddy = new HealBuddy(
      self,
      this.#digest,
      o.positiveInt('bufferBytes', RECOVERY_BUFFER_BYTES_DEFAULT),
      clusterKey,
      healFaults(options),
    );
    this.#joiner = new HealJoiner(self, this.#digest, this.#meter, clusterKey);
  }

  onStart(ctx: RecoveryContext): void {
    // The medium's digest of what it kept (pmem: sums kept with every put): no scan at restart.
    const lanes = ctx.loadedDigest();
    if (lanes) this.#digest.assignBucketLanes(lanes);
    else
      for (const record of ctx.records().values())
        this.#digest.update(record.key, undefined, record.ts);
    this.#joiner.started(ctx);
  }

  onApply(_ctx: RecoveryContext, record: KeyRecord, previous: Ts | undefined): void {
    if (previous !== undefined && tsEquals(previous, record.ts)) return;
    this.#digest.update(record.key, previous, record.ts);
    this.#buddy.handoffs.applied(record);
  }

  onViewInstalled(ctx: RecoveryContext, previous: View, wasFull: boolean): void {
    this.#buddy.viewInstalled(ctx, previous, wasFull);
    this.#joiner.viewInstalled(ctx);
  }

  onAdmitted(ctx: RecoveryContext): void {
    this.#joiner.admitted(ctx);
  }

  receive(ctx: RecoveryContext, msg: StrategyMessage): void {
    if (ctx.recovering && this.#joiner.joining) this.#meter.received(msg);
    if (!this.#joiner.receive(ctx, msg)) this.#buddy.receive(ctx, msg);
  }

  tick(ctx: RecoveryContext): void {
    this.#joiner.tick(ctx);
    this.#buddy.tick(ctx);
  }

  stats(): Record<string, number> {
    return { ...this.#buddy.stats, ...this.#joiner.stats, ...this.#buddy.handoffs.bufferStats() };
  }

  report(): RecoveryReport | undefined {
    return this.#meter.report();
  }
}

/** Options: `bufferBytes` (default 64 MiB), `clusterKey` (hex, at least 16 bytes), and the test-only `testFault`. */
export const healRecovery: RecoveryStrategyFactory = {
  name: 'heal',
  messages: HEAL_MESSAGES,
  create: (self, options) => new HealRecovery(self, options),
};
