import assert from 'node:assert/strict';
import type { Actor, ActorContext, ActorId, Message, TimerId } from '../actor.js';
import {
  CpuScheduler,
  type CostModel,
  type CpuJob,
  type CpuMeter,
  type CpuOptions,
  type MeteredWork,
  type SliceEnd,
} from './cpu.js';
import type { SimEndpoint } from './sim-endpoint.js';

/** What waits in an actor's (or endpoint's) inbox for its CPU. */
export type InboxItem<M extends Message> =
  | { type: 'msg'; from: ActorId; msg: M; bytes: number }
  | { type: 'timer'; incarnation: number; timer: TimerId; tag: number }
  | { type: 'down'; from: ActorId; incarnation: number }
  /** An endpoint's send made outside any of its jobs (a client's timer): it costs a job too. */
  | { type: 'send'; to: ActorId; msg: M; bytes: Uint8Array };

/** Most handlers one job runs (the thread runtime polls up to 256 records per ring per round). */
export const JOB_BATCH_MAX = 256;
/**
 * Message bytes one inbox holds; past it messages are dropped and counted, as the thread
 * runtime drops what exceeds a link's backlog bound (a congested network).
 */
export const INBOX_BYTES_MAX = 64 << 20;
/** Consumed inbox entries kept before the array is compacted. */
const COMPACT_AFTER = 1024;

interface Inbox<M extends Message> {
  items: InboxItem<M>[];
  head: number;
  bytes: number;
  /** The job in progress (submitted, not done); a crash orphans it. */
  running: object | undefined;
  /** Nothing was left to run at the last job's end: the next job wakes a parked thread. */
  parked: boolean;
}

/** A job's running account: its clock is `startMs + chargedMs`; its sends leave when it ends. */
export interface JobRun<M extends Message> {
  readonly id: ActorId;
  readonly startMs: number;
  chargedMs: number;
  readonly outbox: [ActorId, M, Uint8Array][];
}

/** What the CPU model needs of the simulation (the simulator implements it). */
export interface CpuHost<M extends Message, S> {
  actor(id: ActorId): Actor<M, S> | undefined;
  incarnation(id: ActorId): number;
  endpoint(id: ActorId): SimEndpoint<M> | undefined;
  /** Actor `id`'s context with the given clock and send. */
  context(
    id: ActorId,
    clock: () => number,
    send: (to: ActorId, msg: M) => void,
  ): ActorContext<M, S>;
  /** Whether the timer may still fire (and, if so, consumes it). */
  takeTimer(id: ActorId, incarnation: number, timer: TimerId): boolean;
  encode(msg: M): Uint8Array;
  /** Puts an encoded message on the network now (a job's send at its end). */
  release(from: ActorId, to: ActorId, msg: M, bytes: Uint8Array): void;
  schedule(atMs: number, slice: SliceEnd): void;
  trace(line: string): void;
}

/**
 * Runs handlers as jobs on the CPU model (cpu.ts): inboxes, batches, the running job's clock
 * and charges, and its sends released when it ends. One per simulation with a CPU model.
 */
export class CpuRunner<M extends Message, S> {
  readonly scheduler: CpuScheduler;
  readonly #costs: CostModel;
  readonly #meter: CpuMeter | undefined;
  readonly #inboxes = new Map<ActorId, Inbox<M>>();
  #current: JobRun<M> | undefined;
  /** Messages dropped because their receiver's inbox was full. */
  droppedOverload = 0;

  constructor(
    options: CpuOptions,
    readonly host: CpuHost<M, S>,
  ) {
    this.#costs = options.costs;
    this.#meter = options.meter;
    this.scheduler = new CpuScheduler(options, (atMs, slice) => host.schedule(atMs, slice));
  }

  /** The running job's clock (undefined outside a job). */
  now(): number | undefined {
    const run = this.#current;
    return run && run.startMs + run.chargedMs;
  }

  /** Virtual CPU charged to `id` so far, the running job's charges included. */
  cpuMs(id: ActorId): number {
    const run = this.#current;
    return this.scheduler.stats(id).busyMs + (run && run.id === id ? run.chargedMs : 0);
  }

  /** Adds `ms` to the running job if it is `id`'s (storage charges its operations this way). */
  charge(id: ActorId, ms: number): void {
    assert(ms >= 0 && Number.isFinite(ms), `charge: ${ms} ms must be finite and >= 0`);
    const run = this.#current;
    if (run && run.id === id) run.chargedMs += ms;
  }

  #inbox(id: ActorId): Inbox<M> {
    let inbox = this.#inboxes.get(id);
    if (!inbox) {
      inbox = { items: [], head: 0, bytes: 0, running: undefined, parked: true };
      this.#inboxes.set(id, inbox);
    }
    return inbox;
  }

  /** Queues `item` for `id` and wakes it; false if the inbox was full and the message dropped. */
  push(id: ActorId, item: InboxItem<M>, nowMs: number): boolean {
    const inbox = this.#inbox(id);
    if (item.type === 'msg') {
      if (inbox.bytes + item.bytes > INBOX_BYTES_MAX) {
        this.droppedOverload++;
        return false;
      }
      inbox.bytes += item.bytes;
    }
    inbox.items.push(item);
    this.wake(id, nowMs);
    return true;
  }

  /** Encodes a message a handler sends (timed when a meter is installed). */
  #encode(id: ActorId, msg: M): Uint8Array {
    const meter = this.#meter;
    if (!meter) return this.host.encode(msg);
    const t0 = meter.nowNs();
    const bytes = this.host.encode(msg);
    meter.handled(id, 'encode', msg.kind, bytes.length, meter.nowNs() - t0);
    return bytes;
  }

  /** An endpoint's send: part of its running job, or a job of its own. */
  endpointSend(from: ActorId, to: ActorId, msg: M, nowMs: number): void {
    const bytes = this.#encode(from, msg);
    const run = this.#current;
    if (run && run.id === from) {
      run.chargedMs += this.#costs.sendMs(from, msg.kind, bytes.length);
      run.outbox.push([to, msg, bytes]);
      return;
    }
    this.push(from, { type: 'send', to, msg, bytes }, nowMs);
  }

  /** `id` crashed: what waited for it is gone, and its job in progress sends nothing. */
  crashed(id: ActorId): void {
    const inbox = this.#inbox(id);
    inbox.items = [];
    inbox.head = 0;
    inbox.bytes = 0;
    inbox.running = undefined;
    inbox.parked = true;
  }

  /**
   * Runs `start` (and the flush after it) now, and charges it as a job that takes a core when
   * one is free: the actor handles nothing else, and its sends leave, only when that job ends.
   */
  start(id: ActorId, nowMs: number, body: (ctx: ActorContext<M, S>) => void): void {
    const inbox = this.#inbox(id);
    assert(inbox.running === undefined, `actor ${id} starts while a job of it runs`);
    const run: JobRun<M> = { id, startMs: nowMs, chargedMs: this.#costs.startMs(id), outbox: [] };
    const token = {};
    inbox.running = token;
    this.#withJob(run, () => {
      const incarnation = this.host.incarnation(id);
      const ctx = this.#actorContext(run);
      this.#metered(id, 'start', '', 0, () => body(ctx));
      if (incarnation > 0) run.chargedMs += this.#costs.restartMs(id);
      const actor = this.host.actor(id);
      if (actor?.flush && this.host.incarnation(id) === incarnation) {
        run.chargedMs += this.#costs.flushMs(id);
        this.#metered(id, 'flush', '', 0, () => actor.flush?.(ctx));
      }
    });
    this.scheduler.submit(
      { id, execute: () => run.chargedMs, done: (atMs) => this.#done(id, token, run, atMs) },
      nowMs,
    );
  }

  /** Submits a job for `id` if it has work and none in progress. */
  wake(id: ActorId, nowMs: number): void {
    const inbox = this.#inbox(id);
    if (inbox.running !== undefined || inbox.head >= inbox.items.length) return;
    const token = {};
    inbox.running = token;
    let run: JobRun<M> | undefined;
    const job: CpuJob = {
      id,
      execute: (startMs) => {
        if (inbox.running !== token) return 0;
        run = { id, startMs, chargedMs: this.#costs.jobMs(id, inbox.parked), outbox: [] };
        inbox.parked = false;
        const handled = this.#withJob(run, () =>
          this.host.endpoint(id)
            ? this.#endpointBatch(run as JobRun<M>, inbox)
            : this.#actorBatch(run as JobRun<M>, inbox),
        );
        if (handled === 0) run.chargedMs = 0;
        this.host.trace(
          `${startMs.toFixed(4)} run ${id} ${handled} ${(run.chargedMs * 1000).toFixed(3)}us`,
        );
        return run.chargedMs;
      },
      done: (atMs) => {
        if (run) this.#done(id, token, run, atMs);
        else if (inbox.running === token) inbox.running = undefined;
      },
    };
    this.scheduler.submit(job, nowMs);
  }

  /** Runs one handler, timed when a meter is installed. */
  #metered(id: ActorId, work: MeteredWork, kind: string, bytes: number, body: () => void): void {
    const meter = this.#meter;
    if (!meter) {
      body();
      return;
    }
    const t0 = meter.nowNs();
    body();
    meter.handled(id, work, kind, bytes, meter.nowNs() - t0);
  }

  #withJob<T>(run: JobRun<M>, body: () => T): T {
    assert(
      this.#current === undefined,
      `job of ${run.id} starts inside a job of ${this.#current?.id}`,
    );
    this.#current = run;
    try {
      return body();
    } finally {
      this.#current = undefined;
    }
  }

  #done(id: ActorId, token: object, run: JobRun<M>, nowMs: number): void {
    const inbox = this.#inbox(id);
    if (inbox.running !== token) return;
    inbox.running = undefined;
    for (const [to, msg, bytes] of run.outbox) this.host.release(id, to, msg, bytes);
    if (inbox.head >= inbox.items.length) inbox.parked = true;
    this.wake(id, nowMs);
  }

  #take(inbox: Inbox<M>): InboxItem<M> {
    const item = inbox.items[inbox.head++] as InboxItem<M>;
    if (item.type === 'msg') inbox.bytes -= item.bytes;
    if (inbox.head >= COMPACT_AFTER && inbox.head * 2 >= inbox.items.length) {
      inbox.items = inbox.items.slice(inbox.head);
      inbox.head = 0;
    }
    return item;
  }

  #actorContext(run: JobRun<M>): ActorContext<M, S> {
    return this.host.context(
      run.id,
      () => run.startMs + run.chargedMs,
      (to, msg) => {
        const bytes = this.#encode(run.id, msg);
        run.chargedMs += this.#costs.sendMs(run.id, msg.kind, bytes.length);
        run.outbox.push([to, msg, bytes]);
      },
    );
  }

  /** One timer alone, or up to JOB_BATCH_MAX messages and peer reports; then `flush`. */
  #actorBatch(run: JobRun<M>, inbox: Inbox<M>): number {
    const id = run.id;
    const actor = this.host.actor(id);
    if (!actor) return 0;
    const incarnation = this.host.incarnation(id);
    const ctx = this.#actorContext(run);
    let handled = 0;
    const first = inbox.items[inbox.head] as InboxItem<M>;
    if (first.type === 'timer') {
      this.#take(inbox);
      if (first.incarnation === incarnation && this.host.takeTimer(id, incarnation, first.timer)) {
        run.chargedMs += this.#costs.tickMs(id, first.tag);
        this.#metered(id, 'tick', '', 0, () => actor.tick(first.tag, ctx));
        handled++;
      }
    } else {
      for (let n = 0; n < JOB_BATCH_MAX && inbox.head < inbox.items.length; n++) {
        const item = inbox.items[inbox.head] as InboxItem<M>;
        if (item.type === 'timer') break;
        this.#take(inbox);
        if (item.type === 'msg') {
          run.chargedMs += this.#costs.receiveMs(id, item.msg.kind, item.bytes);
          this.#metered(id, 'receive', item.msg.kind, item.bytes, () =>
            actor.receive(item.msg, ctx),
          );
        } else if (item.type === 'down') {
          this.#metered(id, 'down', '', 0, () =>
            actor.peerDown?.(item.from, item.incarnation, ctx),
          );
        }
        handled++;
      }
    }
    if (handled > 0 && actor.flush && this.host.incarnation(id) === incarnation) {
      run.chargedMs += this.#costs.flushMs(id);
      this.#metered(id, 'flush', '', 0, () => actor.flush?.(ctx));
    }
    return handled;
  }

  /** Up to JOB_BATCH_MAX messages and sends of an endpoint, then its round end. */
  #endpointBatch(run: JobRun<M>, inbox: Inbox<M>): number {
    const ep = this.host.endpoint(run.id) as SimEndpoint<M>;
    let handled = 0;
    for (; handled < JOB_BATCH_MAX && inbox.head < inbox.items.length; handled++) {
      const item = this.#take(inbox);
      if (item.type === 'msg') {
        run.chargedMs += this.#costs.receiveMs(run.id, item.msg.kind, item.bytes);
        this.#metered(run.id, 'receive', item.msg.kind, item.bytes, () => ep.handle(item.msg));
      } else if (item.type === 'send') {
        run.chargedMs += this.#costs.sendMs(run.id, item.msg.kind, item.bytes.length);
        run.outbox.push([item.to, item.msg, item.bytes]);
      }
    }
    this.#metered(run.id, 'round', '', 0, () => ep.endRound());
    return handled;
  }
}
