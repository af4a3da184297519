import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Actor, ActorContext, ActorId, ActorModule, Message, TimerId } from '../actor.js';
import { Prng } from '@heal/base';
import { sharedClockMs } from './clock.js';
import { DownBoard, type DownBoardReader } from './down-board.js';
import type { LinkDescriptor } from './links.js';
import { TimerDeadlines } from './idle-slice.js';
import { RingPort, type PortStats } from './port.js';
import { serveLoop } from './serve-loop.js';
import { threadCpuMs } from './thread-cpu.js';

export interface HostStats extends PortStats {
  self: ActorId;
  handled: number;
  /** Rounds that handled at least one message (handled / rounds: the batch per round). */
  rounds: number;
  /** Rounds that found nothing; after each the thread parks until a doorbell or a timer. */
  parks: number;
  timersFired: number;
  /** Ended peer incarnations reported to the actor (see DownBoard). */
  peersDown: number;
  actor: Record<string, number>;
}

/**
 * Runs one actor inside a worker thread: drains its inbound rings, calls its handlers one at a
 * time, publishes what they sent in one batch per round, and sleeps on its doorbell when idle.
 */
export class ActorHost<M extends Message, S, C> {
  readonly #port: RingPort<M>;
  readonly #actor: Actor<M, S>;
  readonly #ctx: ActorContext<M, S>;
  readonly #timers = new Map<TimerId, NodeJS.Timeout>();
  readonly #deadlines = new TimerDeadlines();
  #nextTimer = 1;
  #running = false;
  #handled = 0;
  #rounds = 0;
  #parks = 0;
  #timersFired = 0;
  #peersDown = 0;
  readonly #downBoard: DownBoardReader | undefined;
  #loopDone: Promise<void> = Promise.resolve();

  /** When `createStorage` returned (shared clock, ms): the actor's medium is open. */
  readonly storageOpenedMs: number;

  constructor(
    links: LinkDescriptor,
    module: ActorModule<M, S, C>,
    config: C,
    seed: number,
    incarnation: number,
    downBoard?: SharedArrayBuffer,
  ) {
    this.#port = new RingPort(links, module.codec);
    // What ended before this incarnation started is no news to it.
    this.#downBoard = downBoard ? new DownBoard(downBoard).reader() : undefined;
    const self = links.self;
    const storage = module.createStorage ? module.createStorage(self, config) : (undefined as S);
    this.storageOpenedMs = sharedClockMs();
    this.#actor = module.createActor(self, config);
    const prng = new Prng(seed);
    this.#ctx = {
      self,
      incarnation,
      storage,
      now: sharedClockMs,
      cpuMs: threadCpuMs,
      random: () => prng.float(),
      send: (to, msg) => this.#port.send(to, msg),
      setTimer: (delayMs, tag) => this.#setTimer(delayMs, tag),
      cancelTimer: (id) => {
        clearTimeout(this.#timers.get(id));
        this.#timers.delete(id);
        this.#deadlines.delete(id);
      },
    };
  }

  /** Discards what was queued while this actor was down, runs `start`, and schedules the loop. */
  start(): void {
    assert(!this.#running, 'actor host started twice');
    this.#port.discardInbound();
    this.#actor.start(this.#ctx);
    this.#actor.flush?.(this.#ctx);
    this.#port.flush();
    this.#running = true;
    // The first round runs on the event loop's next turn, not inside `start`: a round that finds
    // nothing parks the thread (up to MAX_IDLE_SLICE_MS), and the worker must first expose its
    // control plane and report that it started.
    this.#loopDone = nextTurn().then(() => this.#loop());
  }

  /** Ends the loop after the current round and publishes what is pending. */
  async stop(): Promise<void> {
    this.#running = false;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#deadlines.clear();
    this.#port.doorbell.ring();
    await this.#loopDone;
    this.#port.flush();
  }

  /** The actor's `status()`, or its `stats()` if it has none. */
  status(): Record<string, number> {
    return this.#actor.status?.() ?? this.#actor.stats?.() ?? {};
  }

  stats(): HostStats {
    return {
      ...this.#port.stats,
      self: this.#port.self,
      handled: this.#handled,
      rounds: this.#rounds,
      parks: this.#parks,
      timersFired: this.#timersFired,
      peersDown: this.#peersDown,
      actor: this.#actor.stats?.() ?? {},
    };
  }

  #setTimer(delayMs: number, tag: number): TimerId {
    assert(
      delayMs >= 0 && Number.isFinite(delayMs),
      `timer delay must be finite and >= 0, got ${delayMs}`,
    );
    const id = this.#nextTimer++;
    const timer = setTimeout(() => {
      this.#timers.delete(id);
      this.#deadlines.delete(id);
      if (!this.#running) return;
      this.#timersFired++;
      this.#actor.tick(tag, this.#ctx);
      this.#actor.flush?.(this.#ctx);
      this.#publish();
    }, delayMs);
    this.#timers.set(id, timer);
    this.#deadlines.add(id, delayMs);
    return id;
  }

  /** Whether the runtime ended this incarnation (a crash: its worker is being terminated). */
  #selfEnded(): boolean {
    return this.#downBoard?.hasEnded(this.#ctx.self, this.#ctx.incarnation) ?? false;
  }

  /** Publishes what the actor sent, unless this incarnation ended: a crashed actor's unpublished sends are lost. */
  #publish(): void {
    if (!this.#selfEnded()) this.#port.flush();
  }

  async #loop(): Promise<void> {
    const deliver = (msg: M): void => {
      this.#handled++;
      this.#actor.receive(msg, this.#ctx);
    };
    const peerDown = (peer: ActorId, incarnation: number): void => {
      if (peer === this.#ctx.self) return; // its own end: see #selfEnded
      this.#peersDown++;
      this.#actor.peerDown?.(peer, incarnation, this.#ctx);
    };
    await serveLoop(
      this.#port,
      this.#deadlines,
      () => this.#running,
      () => {
        if (this.#selfEnded()) return 0;
        const down = this.#peersDown;
        this.#downBoard?.poll(peerDown);
        const n = this.#port.poll(deliver) + this.#peersDown - down;
        // Handlers, then the actor's batch hook (Actor.flush: e.g. a storage sync), then publish.
        if (n > 0) {
          this.#rounds++;
          this.#actor.flush?.(this.#ctx);
        } else {
          this.#parks++;
        }
        this.#publish();
        return n;
      },
    );
  }
}
