import assert from 'node:assert/strict';
import type { ActorContext, ActorId } from '@heal/actors/core';
import type { KeyRecord } from '../storage/key-record.js';
import type { KvStorage } from '../storage/kv-storage.js';
import type { Membership } from './membership.js';
import type { KvMessage, StrategyMessage } from './messages.js';
import type { RecoveryContext } from './recovery-strategy.js';
import type { ReplicaRole } from './replica-role.js';
import { isRecovering } from './replica-role.js';
import type { Replication } from './replication.js';
import type { Timing } from './timing.js';

type Wire = KvMessage | StrategyMessage;

export interface RecoveryHostReplica {
  readonly self: ActorId;
  readonly timing: Timing;
  readonly startedMs: number;
  readonly loadedMs: number;
  ctx(): ActorContext<Wire, KvStorage>;
  role(): ReplicaRole;
  readonly membership: Membership;
  readonly replication: Replication;
  /** The recovery is done: the replica becomes full. */
  finished(): void;
}

/**
 * What a replica shows its recovery strategy (RecoveryContext), and the rules it keeps for it:
 * during a view install the strategy sees what was not at DP in the previous view too, and a
 * recovering replica serves only once everything recovery installed is on its medium (ARCHITECTURE.md
 * §6, HEAL step 8: the strategy asks for that sync before it confirms with its source).
 * Owned by the replica's thread.
 */
export class RecoveryHost {
  /** During a view install: the records not at DP in the previous view (taken before DPs move). */
  #undurableInPrevious: KeyRecord[] | undefined;
  /** Records a recovery installed since its last persistRecovered (none when it serves). */
  #unpersistedInstalls = 0;
  /** The bucket lanes of the digest the medium kept of the records loaded at start, until the strategy's onStart read them. */
  loadedDigest: Uint32Array | undefined;

  constructor(readonly replica: RecoveryHostReplica) {}

  /** Runs `body` (the strategy's view hook) with `undurable` as what the previous view had not at DP. */
  duringViewInstall(undurable: KeyRecord[], body: () => void): void {
    this.#undurableInPrevious = undurable;
    try {
      body();
    } finally {
      this.#undurableInPrevious = undefined;
    }
  }

  context(): RecoveryContext {
    const r = this.replica;
    const ctx = r.ctx();
    return {
      self: r.self,
      incarnation: ctx.incarnation,
      startedMs: r.startedMs,
      loadedMs: r.loadedMs,
      view: r.membership.view,
      admitted: r.membership.admitted,
      timing: r.timing,
      recovering: isRecovering(r.role()),
      versionVector: r.replication.durability.versionVector,
      now: () => ctx.now(),
      random: () => ctx.random(),
      send: (to, body) =>
        ctx.send(to, { ...body, epoch: r.membership.view.epoch, sender: r.self } as Wire),
      records: () => r.replication.records,
      recordsInBuckets: (buckets) => r.replication.records.inBuckets(buckets),
      loadedDigest: () => this.loadedDigest?.slice(),
      notDurable: () => this.#notDurable(),
      installRecovered: (entry, from) => this.#installRecovered(entry, from),
      persistRecovered: () => this.#persistRecovered(),
      finishRecovery: () => this.#finishRecovery(),
    };
  }

  *#notDurable(): IterableIterator<KeyRecord> {
    const replication = this.replica.replication;
    const before = this.#undurableInPrevious;
    if (!before) {
      yield* replication.notDurable();
    } else {
      const seen = new Set<string>();
      for (const record of [...before, ...replication.notDurable()]) {
        if (seen.has(record.key)) continue;
        seen.add(record.key);
        yield replication.records.get(record.key) ?? record;
      }
    }
    // Loaded at a restart and not touched since: read from the medium, disjoint from the above.
    yield* replication.coldNotDurable();
  }

  #installRecovered(entry: KeyRecord, from: ActorId): boolean {
    const applied = this.replica.replication.installRecovered(entry, from);
    if (applied) this.#unpersistedInstalls++;
    return applied;
  }

  #persistRecovered(): void {
    this.replica.replication.durability.syncNow();
    this.#unpersistedInstalls = 0;
  }

  #finishRecovery(): void {
    // A strategy ends a ShadowReplica's recovery, never a cold start's reconciliation.
    if (this.replica.role() !== 'shadow') return;
    assert.equal(
      this.#unpersistedInstalls,
      0,
      `replica ${this.replica.self}: what recovery installed is durable before it serves`,
    );
    this.replica.finished();
  }
}
