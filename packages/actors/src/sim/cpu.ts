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
  /**
   * What a restarted actor `id` (incarnation > 0) spends beyond its handlers, charged at the
   * end of its start job, after its own clock started (ActorContext.cpuMs).
   */
  restartMs(id: ActorId): number;
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
  restartMs: () => 0,
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
 * - An actor is a thread, and a host's cores share its time fairly, as Linux's scheduler does
 *   (CFS, EEVDF): a free core takes the waiting thread that has run least (its CPU time on
 *   the host; one that was parked is not owed the time it did not use, at most a slice), ties
 *   in arrival order. Once on a core a thread keeps it, job after job, while it has work and
 *   has run less than `sliceMs` since it took the core; then it yields to a waiting thread
 *   that has run less than it. So a thread that needs less than its share of the cores gets
 *   what it needs, and one that needs more (a recovering replica) gets what the others leave.
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
  /** How long its thread has held this core (its earlier jobs of the slice included). */
  heldMs: number;
  /** When it started waiting for a core, in arrival order on its host. */
  arrival: number;
}

/** A job that just ended: its thread may go on with its next job on the same core. */
interface Handoff {
  readonly id: ActorId;
  readonly host: Host;
  readonly heldMs: number;
  taken: boolean;
}

interface Host {
  readonly index: number;
  readonly cores: number;
  free: number;
  /** Jobs waiting for a core (unordered: a core picks the least run, see #pick). */
  readonly waiting: RunningJob[];
  /** The least CPU time of a thread a core took last (ms, never decreases). */
  minRunMs: number;
  /** Arrival order of waiting jobs. */
  arrivals: number;
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
  #handoff: Handoff | undefined;
  /** Each thread's CPU time on its host, as the fair share counts it (ms). */
  readonly #runMs = new Map<ActorId, number>();

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
    const host: Host = {
      index: this.#hosts.length,
      cores,
      free: cores,
      waiting: [],
      minRunMs: 0,
      arrivals: 0,
    };
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

  /**
   * Queues `job` on its id's host; it starts at once if a core is free, or if its actor's
   * previous job just ended on a core within the actor's slice (the thread goes on).
   */
  submit(job: CpuJob, nowMs: number): void {
    const host = this.#host(job.id);
    const handoff = this.#handoff;
    if (handoff && !handoff.taken && handoff.id === job.id && handoff.heldMs < this.#sliceMs) {
      assert(handoff.host === host, `actor ${job.id} changed hosts`);
      handoff.taken = true;
      const going: RunningJob = {
        job,
        executed: false,
        remainingMs: 0,
        host,
        heldMs: handoff.heldMs,
        arrival: 0,
      };
      this.#runSlice(going, nowMs);
      return;
    }
    const running: RunningJob = {
      job,
      executed: false,
      remainingMs: 0,
      host,
      heldMs: 0,
      arrival: host.arrivals++,
    };
    this.#runMs.set(job.id, Math.max(this.#ran(job.id), host.minRunMs - this.#sliceMs));
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
    running.heldMs += slice.ms;
    this.#runMs.set(running.job.id, this.#ran(running.job.id) + slice.ms);
    if (running.remainingMs <= DONE_EPSILON_MS) {
      const handoff: Handoff = {
        id: running.job.id,
        host,
        heldMs: running.heldMs,
        taken: false,
      };
      assert(this.#handoff === undefined, 'a job ends inside the end of another');
      this.#handoff = handoff;
      try {
        running.job.done(nowMs);
      } finally {
        this.#handoff = undefined;
      }
      if (handoff.taken) return;
      const next = this.#pick(host, Infinity);
      if (next) this.#runSlice(next, nowMs);
      else host.free++;
      return;
    }
    // Its slice is used up: a waiting thread that has run less takes the core; it waits.
    running.heldMs = 0;
    const next = this.#pick(host, this.#ran(running.job.id));
    if (next) {
      running.arrival = host.arrivals++;
      host.waiting.push(running);
      this.#runSlice(next, nowMs);
    } else {
      this.#runSlice(running, nowMs);
    }
  }

  #ran(id: ActorId): number {
    return this.#runMs.get(id) ?? 0;
  }

  /** Takes the waiting job whose thread has run least, if it has run less than `belowMs`. */
  #pick(host: Host, belowMs: number): RunningJob | undefined {
    const waiting = host.waiting;
    let best = -1;
    let bestMs = belowMs;
    for (let i = 0; i < waiting.length; i++) {
      const w = waiting[i] as RunningJob;
      const ms = this.#ran(w.job.id);
      if (
        ms < bestMs ||
        (ms === bestMs && best >= 0 && w.arrival < (waiting[best] as RunningJob).arrival)
      ) {
        best = i;
        bestMs = ms;
      }
    }
    if (best < 0) return undefined;
    const next = waiting[best] as RunningJob;
    waiting[best] = waiting[waiting.length - 1] as RunningJob;
    waiting.pop();
    host.minRunMs = Math.max(host.minRunMs, bestMs);
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
    const ms = Math.min(running.remainingMs, this.#sliceMs - running.heldMs);
    this.schedule(nowMs + ms, { running, ms });
  }
}

/** One slice of a job on a core: it ends `ms` after it began (an event of the simulator). */
export interface SliceEnd {
  readonly running: RunningJob;
  readonly ms: number;
}
