import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import type {
  ColdMembershipMessage,
  ColdPrepareMsg,
  ColdPromiseMsg,
  ColdStateMsg,
} from './cold-start-messages.js';
import type { Timing } from './timing.js';
import { formatView, isColdStartView, type View } from './view.js';

/** The replica that forms the view of a cold start (every replica restarted, none admitted). */
export const COLD_START_COORDINATOR: ActorId = 0;

/** A cold start the coordinator is forming: every replica's promise for `target`, by incarnation. */
interface ColdPrepare {
  target: number;
  promises: Map<ActorId, number>;
  sentMs: number;
}

type ColdBody =
  | { kind: 'cold-state'; incarnation: number; lastEpoch: number }
  | { kind: 'cold-prepare'; target: number }
  | { kind: 'cold-promise'; target: number; incarnation: number };

export interface ColdStartHost {
  readonly self: ActorId;
  readonly universe: number;
  readonly incarnation: number;
  readonly timing: Timing;
  now(): number;
  view(): View;
  admitted(): boolean;
  send(to: ActorId, body: ColdBody): void;
  /** Tells `to` this replica's view (it restarted while this one is admitted). */
  sendView(to: ActorId): void;
  /** The cold-start view is decided here (the coordinator): install it and tell everyone. */
  decided(view: View): void;
}

/**
 * A cold start of the whole cluster (every replica restarted or removed, so nobody can admit
 * anybody). Each replica persists the epoch of every view it installs before acting in it. A
 * replica that is not admitted tells COLD_START_COORDINATOR its incarnation and the highest
 * epoch it knows. Once the coordinator (itself not admitted) has heard from every replica of the
 * universe, it asks each to promise `target` = one above every epoch reported; a replica
 * promises only while not admitted, and then installs no view below `target` (`floorEpoch`).
 * With every promise in, it decides the cold-start view `target` of all replicas under their
 * promised incarnations, every one a shadow (isColdStartView), and installs it.
 *
 * Safety: no Paxos view can be decided at `target` or below it afterwards, since that needs a
 * majority admitted in a view below `target`, and every replica promised while not admitted;
 * only the coordinator decides cold-start views, and a restarted coordinator reads the epoch it
 * persisted, so no epoch is reused. A cold start needs every replica: reconciliation takes the
 * highest ts any of them kept.
 */
export class ColdStart {
  /** The highest epoch persisted here. */
  #persistedEpoch: number;
  /** The lowest epoch this replica may install (raised by a promise). */
  #floorEpoch = 0;
  #lastStepMs = -Infinity;
  readonly #states = new Map<ActorId, { incarnation: number; lastEpoch: number }>();
  #prepare: ColdPrepare | undefined;
  readonly stats = { coldStartViews: 0 };

  constructor(
    readonly host: ColdStartHost,
    persistedEpoch: number,
  ) {
    this.#persistedEpoch = persistedEpoch;
  }

  get floorEpoch(): number {
    return this.#floorEpoch;
  }

  get persistedEpoch(): number {
    return this.#persistedEpoch;
  }

  /** `epoch` was persisted here (before this replica acts in its view). */
  persisted(epoch: number): void {
    assert(
      epoch >= this.#persistedEpoch,
      `the persisted epoch never goes back (${epoch} after ${this.#persistedEpoch})`,
    );
    this.#persistedEpoch = epoch;
  }

  /** A view was installed: a cold start in preparation is over. */
  viewInstalled(): void {
    this.#states.clear();
    this.#prepare = undefined;
  }

  /** The highest epoch this replica persisted, installed or promised. */
  #lastEpoch(): number {
    return Math.max(this.#persistedEpoch, this.host.view().epoch, this.#floorEpoch);
  }

  /** A replica that is not admitted: whatever its recovery says about joining, there may be nobody to catch up from. */
  tick(): void {
    const now = this.host.now();
    if (now - this.#lastStepMs < this.host.timing.joinRetryMs) return;
    this.#lastStepMs = now;
    if (this.host.self === COLD_START_COORDINATOR) this.#step();
    else
      this.host.send(COLD_START_COORDINATOR, {
        kind: 'cold-state',
        incarnation: this.host.incarnation,
        lastEpoch: this.#lastEpoch(),
      });
  }

  receive(msg: ColdMembershipMessage): void {
    switch (msg.kind) {
      case 'cold-state':
        this.#onState(msg);
        return;
      case 'cold-prepare':
        this.#onPrepare(msg);
        return;
      case 'cold-promise':
        this.#onPromise(msg);
        return;
    }
  }

  #onState(msg: ColdStateMsg): void {
    if (this.host.self !== COLD_START_COORDINATOR || msg.sender >= this.host.universe) return;
    // A replica restarted while we are admitted: it joins as usual; our view helps it along.
    if (this.host.admitted()) {
      this.host.sendView(msg.sender);
      return;
    }
    this.#states.set(msg.sender, { incarnation: msg.incarnation, lastEpoch: msg.lastEpoch });
  }

  /** Coordinator, not admitted: prepares a cold start once every other replica reported (again after a timeout). */
  #step(): void {
    assert(!this.host.admitted() && this.host.self === COLD_START_COORDINATOR);
    const now = this.host.now();
    if (this.#states.size < this.host.universe - 1) return;
    if (this.#prepare && now - this.#prepare.sentMs < this.host.timing.proposalTimeoutMs) return;
    let highest = this.#lastEpoch();
    for (const { lastEpoch } of this.#states.values()) highest = Math.max(highest, lastEpoch);
    const target = highest + 1;
    // The coordinator promises too.
    this.#floorEpoch = target;
    this.#prepare = {
      target,
      promises: new Map([[this.host.self, this.host.incarnation]]),
      sentMs: now,
    };
    for (let id = 0; id < this.host.universe; id++) {
      if (id !== this.host.self) this.host.send(id, { kind: 'cold-prepare', target });
    }
    this.#maybeDecide();
  }

  #onPrepare(msg: ColdPrepareMsg): void {
    if (this.host.admitted() || msg.sender !== COLD_START_COORDINATOR) return;
    // Above every epoch this replica acted in, and not below a promise already made.
    if (
      msg.target <= Math.max(this.#persistedEpoch, this.host.view().epoch) ||
      msg.target < this.#floorEpoch
    )
      return;
    this.#floorEpoch = msg.target;
    this.host.send(msg.sender, {
      kind: 'cold-promise',
      target: msg.target,
      incarnation: this.host.incarnation,
    });
  }

  #onPromise(msg: ColdPromiseMsg): void {
    const p = this.#prepare;
    if (this.host.admitted() || !p || msg.target !== p.target || msg.sender >= this.host.universe)
      return;
    p.promises.set(msg.sender, msg.incarnation);
    this.#maybeDecide();
  }

  #maybeDecide(): void {
    const p = this.#prepare;
    if (!p || p.promises.size < this.host.universe) return;
    const members = [...p.promises]
      .map(([id, incarnation]) => ({ id, incarnation }))
      .sort((a, b) => a.id - b.id);
    const view: View = { epoch: p.target, members, shadows: members.map((m) => m.id) };
    assert(
      isColdStartView(view) && view.epoch > this.host.view().epoch,
      `cold-start view ${formatView(view)}`,
    );
    this.stats.coldStartViews++;
    this.host.decided(view);
    assert(this.host.admitted(), 'the coordinator is a member of the cold-start view it formed');
  }
}
