import assert from 'node:assert/strict';
import type { ActorId } from '../actor.js';

/**
 * What work costs on an actor's (or an endpoint's) virtual CPU, in virtual milliseconds. The
 * simulator asks for every handler it runs; storage charges its own operations through
 * `Simulation.charge` while a handler runs. Costs must be finite and >= 0, and a function of
 * their arguments only (the same profile and seed give the same trace).
 */
export interface CostModel {
  /** Decoding and handling one message of `kind`, `bytes` long on the wire, at `to`. */
  receiveMs(to: ActorId, kind: string, bytes: number): number;
  /** Encoding one message and handing it to the transport, at `from`. */
  sendMs(from: ActorId, kind: string, bytes: number): number;
  /** One timer's handler (`tick`) of actor `id`. */
  tickMs(id: ActorId, tag: number): number;
  /** Actor `id`'s `start`, beyond what its storage charges. */
  startMs(id: ActorId): number;
  /** Actor `id`'s batch hook (`flush`) after a job's handlers, beyond what its storage charges. */
  flushMs(id: ActorId): number;
  /**
   * Fixed cost of one job at `id` (a poll round), beyond its handlers; `woke`: the CPU had
   * nothing of `id`'s to run before it (a parked thread is woken up).
   */
  jobMs(id: ActorId, woke: boolean): number;
}

/** A cost model that charges nothing: jobs still queue, in order, but take no time. */
export const FREE_COSTS: CostModel = {
  receiveMs: () => 0,
  sendMs: () => 0,
  tickMs: () => 0,
  startMs: () => 0,
  flushMs: () => 0,
  jobMs: () => 0,
};

/** A host: `cores` cores shared by the actors and endpoints placed on it. */
export interface HostSpec {
  readonly cores: number;
  readonly ids: readonly ActorId[];
}

/**
 * The simulator's CPU model (docs/ARCHITECTURE.md, "The simulator").
 * - Every actor and endpoint runs on a host; one not placed on any gets a host of its own with
 *   `cores` cores (so by default each has one core to itself).
 * - An actor runs one job at a time: a job is a batch of handlers (the messages waiting for it,
 *   up to a bound, then `flush`; or one timer; or `start`), as the thread runtime's poll rounds.
 *   The job's code runs when a core first takes it; its sends leave when the job completes.
 *   Messages that arrive meanwhile wait in the actor's inbox.
 * - A host's cores take waiting jobs in arrival order and run each for at most `sliceMs`
 *   before it yields to the next waiting job (round robin, as an OS time-slices threads).
 */
export interface CpuOptions {
  readonly costs: CostModel;
  readonly hosts?: readonly HostSpec[];
  /** Cores of the host of an id that no host names (default 1). */
  readonly cores?: number;
  /** Longest a core runs one job while others wait (default DEFAULT_SLICE_MS). */
  readonly sliceMs?: number;
  /** Calibration only: times every handler the jobs run on a real clock (`heal calibrate`). */
  readonly meter?: CpuMeter;
}

/** What a meter is told a handler was. */
export type MeteredWork = 'receive' | 'tick' | 'start' | 'flush' | 'down' | 'round' | 'encode';

/**
 * Measures the real code a simulation runs: the simulator calls `handled` after each handler
 * of a job with its duration on `nowNs`'s clock (a real one, e.g. process.hrtime). The
 * simulator's own behaviour never depends on it: the trace is the same with or without one.
 */
export interface CpuMeter {
  nowNs(): number;
  /**
   * `kind` and `bytes`: the message's (receive, encode); `''` and 0 otherwise. `round`: an
   * endpoint's round end. `encode`: a send inside a handler (reported before that handler).
   */
  handled(id: ActorId, work: MeteredWork, kind: string, bytes: number, ns: number): void;
}

/** Linux CFS's minimum granularity is about 0.75-3 ms; a job that long yields to waiting ones. */
export const DEFAULT_SLICE_MS = 1;
/** Most cores one host may have. */
export const MAX_HOST_CORES = 1024;
/** Remaining work below this (ms) counts as done (float sums of costs). */
const DONE_EPSILON_MS = 1e-12;

/** A unit of work on one id's CPU: `execute` runs its code once and returns its cost. */
export interface CpuJob {
  readonly id: ActorId;
  /** Runs the job's handlers at `startMs`; returns its cost in ms. Called once. */
  execute(startMs: number): number;
  /** The job's last slice ended at `atMs`: its effects (sends) take place now. */
  done(atMs: number): void;
}

/** A job on its way through a host's cores. */
export interface RunningJob {
  job: CpuJob;
  executed: boolean;
  remainingMs: number;
  host: Host;
}

interface Host {
  readonly index: number;
  readonly cores: number;
  free: number;
  /** Jobs waiting for a core, FIFO (`head` is the next). */
  waiting: RunningJob[];
  head: number;
}

export interface CpuStats {
  /** Jobs completed. */
  jobs: number;
  /** CPU time charged (ms). */
  busyMs: number;
}

/**
 * The cores of every host and the jobs waiting for them. Pure bookkeeping: the simulator turns
 * `SliceEnd`s into events at their times and calls `sliceEnd` when each is due.
 */
export class CpuScheduler {
  readonly #hostOf = new Map<ActorId, Host>();
  readonly #hosts: Host[] = [];
  readonly #cores: number;
  readonly #sliceMs: number;
  readonly #stats = new Map<ActorId, CpuStats>();

  constructor(
    options: Omit<CpuOptions, 'costs'>,
    readonly schedule: (atMs: number, slice: SliceEnd) => void,
  ) {
    this.#cores = options.cores ?? 1;
    this.#sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
    assert(
      Number.isInteger(this.#cores) && this.#cores >= 1 && this.#cores <= MAX_HOST_CORES,
      `cpu.cores must be an integer in [1, ${MAX_HOST_CORES}], got ${this.#cores}`,
    );
    assert(
      this.#sliceMs > 0 && Number.isFinite(this.#sliceMs),
      `cpu.sliceMs must be a positive number, got ${this.#sliceMs}`,
    );
    for (const spec of options.hosts ?? []) {
      assert(
        Number.isInteger(spec.cores) && spec.cores >= 1 && spec.cores <= MAX_HOST_CORES,
        `cpu.hosts[${this.#hosts.length}].cores must be an integer in [1, ${MAX_HOST_CORES}], got ${spec.cores}`,
      );
      const host = this.#newHost(spec.cores);
      for (const id of spec.ids) {
        assert(!this.#hostOf.has(id), `cpu.hosts: id ${id} is on two hosts`);
        this.#hostOf.set(id, host);
      }
    }
  }

  #newHost(cores: number): Host {
    const host: Host = { index: this.#hosts.length, cores, free: cores, waiting: [], head: 0 };
    this.#hosts.push(host);
    return host;
  }

  #host(id: ActorId): Host {
    let host = this.#hostOf.get(id);
    if (!host) {
      host = this.#newHost(this.#cores);
      this.#hostOf.set(id, host);
    }
    return host;
  }

  /** Index of the host `id` runs on (ids sharing cores have the same). */
  hostIndex(id: ActorId): number {
    return this.#host(id).index;
  }

  stats(id: ActorId): CpuStats {
    return { ...(this.#stats.get(id) ?? { jobs: 0, busyMs: 0 }) };
  }

  /** Queues `job` on its id's host; it starts at once if a core is free. */
  submit(job: CpuJob, nowMs: number): void {
    const host = this.#host(job.id);
    const running: RunningJob = { job, executed: false, remainingMs: 0, host };
    if (host.free > 0) {
      host.free--;
      this.#runSlice(running, nowMs);
    } else {
      host.waiting.push(running);
    }
  }

  /** A slice scheduled by `#runSlice` ended at `nowMs`. */
  sliceEnd(slice: SliceEnd, nowMs: number): void {
    const running = slice.running;
    const host = running.host;
    running.remainingMs -= slice.ms;
    if (running.remainingMs <= DONE_EPSILON_MS) {
      running.job.done(nowMs);
      const next = this.#nextWaiting(host);
      if (next) this.#runSlice(next, nowMs);
      else host.free++;
      return;
    }
    const next = this.#nextWaiting(host);
    if (next) {
      host.waiting.push(running);
      this.#runSlice(next, nowMs);
    } else {
      this.#runSlice(running, nowMs);
    }
  }

  #nextWaiting(host: Host): RunningJob | undefined {
    if (host.head >= host.waiting.length) return undefined;
    const next = host.waiting[host.head++] as RunningJob;
    // Compact now and then so the array does not grow with every job ever queued.
    if (host.head > 1024 && host.head * 2 > host.waiting.length) {
      host.waiting = host.waiting.slice(host.head);
      host.head = 0;
    }
    return next;
  }

  #runSlice(running: RunningJob, nowMs: number): void {
    if (!running.executed) {
      running.executed = true;
      const costMs = running.job.execute(nowMs);
      assert(
        costMs >= 0 && Number.isFinite(costMs),
        `job of ${running.job.id} cost ${costMs} ms: costs must be finite and >= 0`,
      );
      running.remainingMs = costMs;
      const stats = this.#stats.get(running.job.id) ?? { jobs: 0, busyMs: 0 };
      stats.jobs++;
      stats.busyMs += costMs;
      this.#stats.set(running.job.id, stats);
    }
    const ms = Math.min(running.remainingMs, this.#sliceMs);
    this.schedule(nowMs + ms, { running, ms });
  }
}

/** One slice of a job on a core: it ends `ms` after it began (an event of the simulator). */
export interface SliceEnd {
  readonly running: RunningJob;
  readonly ms: number;
}
