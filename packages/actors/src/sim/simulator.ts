import assert from 'node:assert/strict';
import type {
  Actor,
  ActorContext,
  ActorId,
  ActorModule,
  CrashableStorage,
  Message,
  TimerId,
} from '../actor.js';
import { CodecError } from '../codec-error.js';
import type { Endpoint } from '../endpoint.js';
import { Network } from './network.js';
import { Prng } from '@heal/base';
import { Trace } from './trace.js';
import type { CpuStats } from './cpu.js';
import { CpuRunner, type CpuHost, type InboxItem } from './cpu-runner.js';
import { Nics } from './nic.js';
import type { Event, SimulationOptions, SimulationStats, Slot } from './sim-types.js';
import { SimEndpoint } from './sim-endpoint.js';
import { EventQueue } from './event-queue.js';
import { actorContext } from './actor-context.js';

export { SimEndpoint } from './sim-endpoint.js';
export type { SimulationOptions, SimulationStats } from './sim-types.js';

/** Upper bound on events one `run*` call may process: a livelocked scenario fails loudly. */
export const MAX_EVENTS_PER_RUN = 50_000_000;

/**
 * Runs actors on one thread with a virtual clock, a seeded PRNG and a simulated network.
 * Every message is encoded at send and decoded at delivery, as on the real transport.
 * Events at equal times run in scheduling order, so a run is a function of (seed, scenario).
 */
export class Simulation<M extends Message, S = unknown, C = unknown> {
  readonly seed: number;
  readonly network: Network;
  readonly trace: Trace;
  readonly stats: SimulationStats = {
    events: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    droppedPartition: 0,
    droppedDown: 0,
    codecErrors: 0,
    timersFired: 0,
    droppedOverload: 0,
  };
  /** Bandwidth per actor and endpoint (unlimited unless `options.nic` or `nics.set` says). */
  readonly nics: Nics;
  readonly #module: ActorModule<M, S, C>;
  readonly #config: (self: ActorId) => C;
  readonly #prng: Prng;
  readonly #events = new EventQueue();
  readonly #slots: Slot<M, S>[] = [];
  readonly #endpoints = new Map<ActorId, SimEndpoint<M>>();
  readonly #actorCount: number;
  #nowMs = 0;
  #nextTimer = 1;
  readonly #cpu: CpuRunner<M, S> | undefined;
  readonly #dropFilters = new Set<(from: ActorId, to: ActorId, msg: M) => boolean>();

  constructor(options: SimulationOptions<M, S, C>) {
    const { seed, module, actors, endpoints = 0 } = options;
    assert(
      Number.isInteger(actors) && actors > 0,
      `actors must be a positive integer, got ${actors}`,
    );
    assert(
      Number.isInteger(endpoints) && endpoints >= 0,
      `endpoints must be >= 0, got ${endpoints}`,
    );
    this.seed = seed;
    this.#module = module;
    const config = options.config;
    this.#config = typeof config === 'function' ? (config as (self: ActorId) => C) : () => config;
    this.#prng = new Prng(seed);
    this.network = new Network(options.network);
    this.nics = new Nics(options.nic);
    this.trace = new Trace(options.traceLines ?? 200);
    this.#cpu = options.cpu && new CpuRunner(options.cpu, this.#cpuHost());
    this.#actorCount = actors;
    for (let id = 0; id < actors; id++) {
      const cfg = this.#config(id);
      const storage = module.createStorage ? module.createStorage(id, cfg) : (undefined as S);
      this.#slots.push({
        actor: undefined,
        incarnation: 0,
        storage,
        prng: this.#prng.fork(id),
        liveTimers: new Set(),
      });
    }
    for (let i = 0; i < endpoints; i++) {
      const id = actors + i;
      this.#endpoints.set(id, new SimEndpoint<M>(id, this));
    }
    for (let id = 0; id < actors; id++) this.#startActor(id);
  }

  /** Virtual time in milliseconds (inside a job of the CPU model: that job's clock). */
  get now(): number {
    return this.#cpu?.now() ?? this.#nowMs;
  }

  /** Whether handlers are charged CPU time (`options.cpu`). */
  get cpuModel(): boolean {
    return this.#cpu !== undefined;
  }

  /**
   * CPU model: adds `ms` of work to the job `id` is running (storage charges its operations
   * this way); ignored outside one of `id`'s jobs and without the model.
   */
  charge(id: ActorId, ms: number): void {
    this.#cpu?.charge(id, ms);
  }

  /** CPU model: the jobs `id` ran and the CPU time they were charged. */
  cpuStats(id: ActorId): CpuStats {
    assert(this.#cpu, 'cpuStats: this simulation has no CPU model');
    return this.#cpu.scheduler.stats(id);
  }

  get actorCount(): number {
    return this.#actorCount;
  }

  /** The live actor object of `id` (for assertions in tests); undefined while crashed. */
  actor(id: ActorId): Actor<M, S> | undefined {
    return this.#slot(id).actor;
  }

  storage(id: ActorId): S {
    return this.#slot(id).storage;
  }

  isUp(id: ActorId): boolean {
    return this.#slot(id).actor !== undefined;
  }

  endpoint(id: ActorId): Endpoint<M> {
    const ep = this.#endpoints.get(id);
    if (!ep)
      throw new RangeError(`no external endpoint ${id} (endpoints are ${this.#actorCount}..)`);
    return ep;
  }

  /** Runs `fn` at virtual time `atMs` (for scripted faults and client operations). */
  at(atMs: number, label: string, fn: () => void): void {
    assert(atMs >= this.#nowMs, `cannot schedule ${label} in the past (${atMs} < ${this.#nowMs})`);
    this.#push({ at: atMs, seq: 0, type: 'call', label, fn });
  }

  after(delayMs: number, label: string, fn: () => void): void {
    this.at(this.#nowMs + delayMs, label, fn);
  }

  /**
   * Crashes `id`: its volatile state and timers are gone; its storage is told (if it can be).
   * `reset`: a process crash whose connections reset, so each live actor it can reach learns of
   * it (`Actor.peerDown`) one network delay later, as a thread runtime's actors do at once.
   * Without it (a power loss, the default) only silence tells.
   */
  crash(id: ActorId, options: { reset?: boolean } = {}): void {
    const slot = this.#slot(id);
    assert(slot.actor !== undefined, `crash: actor ${id} is already down`);
    if (options.reset === true) this.#resetLinks(id, slot.incarnation);
    slot.actor = undefined;
    slot.incarnation++;
    slot.liveTimers.clear();
    this.#cpu?.crashed(id);
    const storage = slot.storage as Partial<CrashableStorage> | undefined;
    if (storage && typeof storage.crash === 'function') storage.crash(this.#prng.u32());
    this.trace.add(`${this.#nowMs.toFixed(4)} crash ${id}`);
  }

  restart(id: ActorId): void {
    const slot = this.#slot(id);
    assert(slot.actor === undefined, `restart: actor ${id} is up`);
    this.trace.add(`${this.#nowMs.toFixed(4)} restart ${id}`);
    this.#startActor(id);
  }

  /** Processes the next event; false when there is none. */
  step(): boolean {
    const event = this.#events.pop();
    if (!event) return false;
    assert(event.at >= this.#nowMs, 'simulated time never goes backwards');
    this.#nowMs = event.at;
    this.stats.events++;
    switch (event.type) {
      case 'deliver':
        if (event.nic) {
          const at = this.nics.ingress(event.to, event.at, event.bytes.length);
          if (at > event.at) {
            this.#push({
              at,
              seq: 0,
              type: 'deliver',
              from: event.from,
              to: event.to,
              bytes: event.bytes,
              nic: false,
            });
            break;
          }
        }
        this.#deliver(event.from, event.to, event.bytes);
        break;
      case 'timer':
        this.#fire(event.to, event.incarnation, event.id, event.tag);
        break;
      case 'down':
        this.#peerDown(event.from, event.to, event.incarnation);
        break;
      case 'call':
        this.trace.add(`${this.#nowMs.toFixed(4)} call ${event.label}`);
        event.fn();
        break;
      case 'slice':
        this.#cpu?.scheduler.sliceEnd(event.slice, this.#nowMs);
        break;
    }
    return true;
  }

  /** Runs every event up to and including `untilMs`, then sets the clock to `untilMs`. */
  runUntilTime(untilMs: number): void {
    let budget = MAX_EVENTS_PER_RUN;
    while (this.#events.nextAt() <= untilMs) {
      this.step();
      if (--budget === 0)
        throw new Error(`simulation seed=${this.seed}: over ${MAX_EVENTS_PER_RUN} events`);
    }
    this.#nowMs = Math.max(this.#nowMs, untilMs);
  }

  runFor(durationMs: number): void {
    this.runUntilTime(this.#nowMs + durationMs);
  }

  /**
   * Runs until `done()` holds (checked after every event) or `limitMs` of virtual time pass;
   * returns whether `done()` held.
   */
  runUntil(done: () => boolean, limitMs: number): boolean {
    const deadline = this.#nowMs + limitMs;
    let budget = MAX_EVENTS_PER_RUN;
    while (!done()) {
      if (this.#events.nextAt() > deadline) {
        this.#nowMs = Math.max(this.#nowMs, deadline);
        return done();
      }
      this.step();
      if (--budget === 0)
        throw new Error(`simulation seed=${this.seed}: over ${MAX_EVENTS_PER_RUN} events`);
    }
    return true;
  }

  /**
   * Loses every message `drop` picks (counted as lost), as a link that loses exactly those
   * would, until the returned function removes the filter. For tests that need one message lost.
   */
  dropWhere(drop: (from: ActorId, to: ActorId, msg: M) => boolean): () => void {
    this.#dropFilters.add(drop);
    return () => {
      this.#dropFilters.delete(drop);
    };
  }

  /** Sends from an actor or an endpoint through the network model (encode now, decode at delivery). */
  transmit(from: ActorId, to: ActorId, msg: M): void {
    assert(msg.sender === from, `message ${msg.kind} from ${from} claims sender ${msg.sender}`);
    // CPU model: an endpoint's send costs its CPU and leaves when the job that sends it ends.
    if (this.#cpu && this.#endpoints.has(from)) this.#cpu.endpointSend(from, to, msg, this.#nowMs);
    else this.#release(from, to, msg, this.#module.codec.encode(msg));
  }

  #release(from: ActorId, to: ActorId, msg: M, bytes: Uint8Array): void {
    assert(msg.sender === from, `message ${msg.kind} from ${from} claims sender ${msg.sender}`);
    if (to === from) {
      this.#push({ at: this.#nowMs, seq: 0, type: 'deliver', from, to, bytes, nic: false });
      return;
    }
    assert(this.#known(to), `send to unknown actor ${to}`);
    if (!this.network.connected(from, to)) {
      this.stats.droppedPartition++;
      return;
    }
    for (const drop of this.#dropFilters) {
      if (!drop(from, to, msg)) continue;
      this.stats.lost++;
      return;
    }
    const nic = this.nics.limited;
    const sentMs = nic ? this.nics.egress(from, this.#nowMs, bytes.length) : this.#nowMs;
    const times = this.network.deliveries(from, to, sentMs, this.#prng);
    if (times.length === 0) this.stats.lost++;
    if (times.length > 1) this.stats.duplicated++;
    for (const at of times) this.#push({ at, seq: 0, type: 'deliver', from, to, bytes, nic });
  }

  #known(id: ActorId): boolean {
    return (id >= 0 && id < this.#actorCount) || this.#endpoints.has(id);
  }

  #slot(id: ActorId): Slot<M, S> {
    const slot = this.#slots[id];
    if (!slot) throw new RangeError(`no actor ${id} (actors are 0..${this.#actorCount - 1})`);
    return slot;
  }

  #push(event: Event): void {
    this.#events.push(event);
  }

  #startActor(id: ActorId): void {
    const slot = this.#slot(id);
    const actor = this.#module.createActor(id, this.#config(id));
    slot.actor = actor;
    if (this.#cpu) this.#cpu.start(id, this.#nowMs, (ctx) => actor.start(ctx));
    else this.#handle(id, (ctx) => actor.start(ctx));
  }

  #deliver(from: ActorId, to: ActorId, bytes: Uint8Array): void {
    if (!this.network.connected(from, to)) {
      this.stats.droppedPartition++;
      return;
    }
    let msg: M;
    try {
      msg = this.#module.codec.decode(bytes);
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      this.stats.codecErrors++;
      this.trace.add(`${this.#nowMs.toFixed(4)} codec-error ${from}->${to} ${err.message}`);
      return;
    }
    const ep = this.#endpoints.get(to);
    if (ep) {
      this.stats.delivered++;
      this.trace.add(`${this.#nowMs.toFixed(4)} deliver ${from}->${to} ${msg.kind}`);
      if (this.#cpu) this.#cpuPush(to, { type: 'msg', from, msg, bytes: bytes.length });
      else ep.dispatch(msg);
      return;
    }
    const actor = this.#slot(to).actor;
    if (!actor) {
      this.stats.droppedDown++;
      return;
    }
    this.stats.delivered++;
    this.trace.add(`${this.#nowMs.toFixed(4)} deliver ${from}->${to} ${msg.kind}`);
    if (this.#cpu) this.#cpuPush(to, { type: 'msg', from, msg, bytes: bytes.length });
    else this.#handle(to, (ctx) => actor.receive(msg, ctx));
  }

  #cpuPush(to: ActorId, item: InboxItem<M>): void {
    if (!(this.#cpu as CpuRunner<M, S>).push(to, item, this.#nowMs)) this.stats.droppedOverload++;
  }

  /** Tells every other actor, over the network (a reset can be lost or cut off too), that `id` ended. */
  #resetLinks(id: ActorId, incarnation: number): void {
    for (let to = 0; to < this.#actorCount; to++) {
      if (to === id || !this.network.connected(id, to)) continue;
      const at = this.network.deliveries(id, to, this.#nowMs, this.#prng)[0];
      if (at !== undefined) this.#push({ at, seq: 0, type: 'down', from: id, to, incarnation });
    }
  }

  #peerDown(from: ActorId, to: ActorId, incarnation: number): void {
    const actor = this.#slot(to).actor;
    if (!actor || !this.network.connected(from, to)) return;
    this.trace.add(`${this.#nowMs.toFixed(4)} down ${from}->${to} incarnation ${incarnation}`);
    if (this.#cpu) this.#cpuPush(to, { type: 'down', from, incarnation });
    else this.#handle(to, (ctx) => actor.peerDown?.(from, incarnation, ctx));
  }

  #fire(to: ActorId, incarnation: number, id: TimerId, tag: number): void {
    const slot = this.#slot(to);
    if (this.#cpu) {
      // The timer is due; its handler runs when the actor's CPU gets to it (if still live then).
      if (slot.incarnation !== incarnation || !slot.liveTimers.has(id) || !slot.actor) return;
      this.stats.timersFired++;
      this.trace.add(`${this.#nowMs.toFixed(4)} timer ${to} ${tag}`);
      this.#cpuPush(to, { type: 'timer', incarnation, timer: id, tag });
      return;
    }
    if (slot.incarnation !== incarnation || !slot.liveTimers.delete(id) || !slot.actor) return;
    const actor = slot.actor;
    this.stats.timersFired++;
    this.trace.add(`${this.#nowMs.toFixed(4)} timer ${to} ${tag}`);
    this.#handle(to, (ctx) => actor.tick(tag, ctx));
  }

  /** Runs one handler with a context whose sends take effect after it returns. */
  #handle(self: ActorId, body: (ctx: ActorContext<M, S>) => void): void {
    const slot = this.#slot(self);
    const outbox: [ActorId, M][] = [];
    const incarnation = slot.incarnation;
    const ctx = this.#context(
      self,
      () => this.#nowMs,
      (to, msg) => {
        outbox.push([to, msg]);
      },
    );
    body(ctx);
    // The actor's batch hook (Actor.flush) runs after the handler, before its sends go out.
    const actor = slot.actor;
    if (actor?.flush && slot.incarnation === incarnation) actor.flush(ctx);
    for (const [to, msg] of outbox) this.transmit(self, to, msg);
  }

  /** Actor `self`'s context in its current incarnation, with the given clock and send. */
  #context(
    self: ActorId,
    clock: () => number,
    send: (to: ActorId, msg: M) => void,
  ): ActorContext<M, S> {
    const cpu = (): number => this.#cpu?.cpuMs(self) ?? 0;
    return actorContext(self, this.#slot(self), clock, cpu, send, (at, incarnation, tag) => {
      const id = this.#nextTimer++;
      this.#push({ at, seq: 0, type: 'timer', to: self, incarnation, id, tag });
      return id;
    });
  }

  /** What the CPU model reaches of this simulation. */
  #cpuHost(): CpuHost<M, S> {
    return {
      actor: (id) => this.#slot(id).actor,
      incarnation: (id) => this.#slot(id).incarnation,
      endpoint: (id) => this.#endpoints.get(id),
      context: (id, clock, send) => this.#context(id, clock, send),
      takeTimer: (id, incarnation, timer) => {
        const slot = this.#slot(id);
        return slot.incarnation === incarnation && slot.liveTimers.delete(timer);
      },
      encode: (msg) => this.#module.codec.encode(msg),
      release: (from, to, msg, bytes) => this.#release(from, to, msg, bytes),
      schedule: (atMs, slice) => this.#push({ at: atMs, seq: 0, type: 'slice', slice }),
      trace: (line) => this.trace.add(line),
    };
  }
}
