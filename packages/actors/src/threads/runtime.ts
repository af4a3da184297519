import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import type { Remote } from 'comlink';
import type { ActorId, Message } from '../actor.js';
import type { Codec } from '../codec.js';
import type {
  ActorAssignment,
  ActorControl,
  ActorWorkerData,
  ReadyMessage,
  WorkerMarks,
} from './actor-worker.js';
import type { HostStats } from './actor-host.js';
import { wrapControl } from './control-parent.js';
import { Doorbell } from '../doorbell.js';
import { DownBoard } from './down-board.js';
import { buildMesh, DEFAULT_RING_BYTES, type LinkDescriptor } from './links.js';
import { loadActorModule, type ActorModuleRef } from './module-ref.js';
import { ThreadEndpoint } from './thread-endpoint.js';
import { sharedClockMs } from './clock.js';

/** Most actors (plus endpoints) one runtime wires up: the mesh has n^2 rings. */
export const MAX_THREAD_ACTORS = 64;

/**
 * How long a spare waits before its warm-up: the survivors' removal of its actor (failure
 * detection and a view change, tens of milliseconds) should not share the cores with it.
 */
export const SPARE_WARM_UP_DELAY_MS = 250;

export interface ThreadRuntimeOptions<C> {
  module: ActorModuleRef;
  /** Actors get ids 0..actors-1, one worker thread each. */
  actors: number;
  /** Client endpoints get ids actors..actors+endpoints-1. */
  endpoints?: number;
  /** Per-actor config (structured-cloneable). */
  config: C | ((self: ActorId) => C);
  ringBytes?: number;
  seed?: number;
  /**
   * Boot a spare worker for an actor while it is down (default true): after `crash` or `stop`,
   * a worker is created at once and imports the actor module, then waits; `restart` hands it
   * the actor, so a restart costs opening the storage and `start`, not booting a thread and
   * importing a module (the bulk of a cold start: see WorkerStart). A spare is never shared:
   * it runs one incarnation of the actor it was booted for. An idle spare does not keep the
   * process alive; `shutdown` ends it. false: every restart starts a new worker (cold).
   */
  spareWorkers?: boolean;
  /**
   * Whether a worker booted ahead of its actor (the first workers, and spares) runs the
   * module's `warmUp` with the actor's config before it takes the actor (default true): a spare
   * then compiles the actor's code while the actor is down, not while it recovers. A cold
   * restart never warms up (it would delay the restart).
   */
  warmUp?: boolean;
  /** How long a spare waits before its warm-up (default SPARE_WARM_UP_DELAY_MS). */
  spareWarmUpDelayMs?: number;
}

/**
 * How one actor's worker started, on the clock all threads share (ms): the runtime's marks
 * around the worker's own. The start as its caller sees it is `readyMs - requestedMs`; for a
 * cold start `spawnMs` is `requestedMs`, for a spare it is earlier (it booted while the actor
 * was down) and `assignedMs - requestedMs` is all that is left of booting.
 */
export interface WorkerStart extends WorkerMarks {
  /** `restart` (or `start`, for the first incarnation) was called. */
  requestedMs: number;
  /** The worker was created. */
  spawnMs: number;
  /** The runtime received the worker's ready message. */
  readyMs: number;
  /** Whether a spare worker, booted while the actor was down, runs this incarnation. */
  spare: boolean;
  /** What the module's `warmUp` returned, if the worker ran it. */
  warmUp?: unknown;
}

interface Running {
  worker: Worker;
  control: Remote<ActorControl>;
  incarnation: number;
}

/** A worker created for actor `id`, not yet assigned to it (or just assigned). */
interface Booting {
  worker: Worker;
  spawnMs: number;
  /** Settles with the worker's ready message, or rejects if it fails or exits before. */
  ready: Promise<ReadyMessage>;
}

/**
 * Runs each actor in its own worker thread over a full mesh of SharedArrayBuffer rings. The
 * control plane (start, stop, crash, restart, stats) is comlink over each worker's port; the
 * data plane never uses postMessage. Owned by the thread that created it.
 */
export class ThreadRuntime<M extends Message, C = unknown> {
  readonly actors: number;
  readonly endpoints: number;
  readonly codec: Codec<M>;
  readonly #options: ThreadRuntimeOptions<C>;
  readonly #links: LinkDescriptor[];
  readonly #running = new Map<ActorId, Running>();
  readonly #incarnations: number[];
  readonly #attached = new Set<ThreadEndpoint<M>>();
  /** Spare workers by actor, at most one per actor that is down (see spareWorkers). */
  readonly #spares = new Map<ActorId, Booting>();
  /** Which incarnations ended: read by every actor's host (see DownBoard). */
  readonly #downBoard: DownBoard;
  #shuttingDown = false;

  private constructor(options: ThreadRuntimeOptions<C>, codec: Codec<M>) {
    const { actors, endpoints = 0, ringBytes = DEFAULT_RING_BYTES } = options;
    this.actors = actors;
    this.endpoints = endpoints;
    this.codec = codec;
    this.#options = options;
    this.#links = buildMesh(actors, endpoints, ringBytes);
    this.#incarnations = new Array<number>(actors).fill(0);
    this.#downBoard = DownBoard.create(actors);
  }

  /** Builds the mesh and starts every actor; resolves when all have run `start`. */
  static async start<M extends Message, C>(
    options: ThreadRuntimeOptions<C>,
  ): Promise<ThreadRuntime<M, C>> {
    const { actors, endpoints = 0 } = options;
    if (!Number.isInteger(actors) || actors < 1)
      throw new RangeError(`actors must be a positive integer, got ${actors}`);
    if (!Number.isInteger(endpoints) || endpoints < 0) {
      throw new RangeError(`endpoints must be a non-negative integer, got ${endpoints}`);
    }
    if (actors + endpoints > MAX_THREAD_ACTORS) {
      throw new RangeError(
        `actors + endpoints must be at most ${MAX_THREAD_ACTORS}, got ${actors + endpoints}`,
      );
    }
    const module = await loadActorModule<M, unknown, C>(options.module);
    const runtime = new ThreadRuntime<M, C>(options, module.codec);
    if (options.spareWorkers !== undefined && typeof options.spareWorkers !== 'boolean') {
      throw new TypeError(`spareWorkers must be a boolean, got ${String(options.spareWorkers)}`);
    }
    await Promise.all(
      Array.from({ length: actors }, (_, id) =>
        runtime.#assign(id, runtime.#boot(id, 'first'), sharedClockMs(), false),
      ),
    );
    return runtime;
  }

  isUp(id: ActorId): boolean {
    return this.#running.has(id);
  }

  /** An endpoint in the calling thread (a client). */
  endpoint(id: ActorId): ThreadEndpoint<M> {
    const endpoint = new ThreadEndpoint<M>(this.endpointLinks(id), this.codec);
    this.#attached.add(endpoint);
    return endpoint;
  }

  /** The shared memory of endpoint `id`, to attach it in another thread (e.g. a piscina task). */
  endpointLinks(id: ActorId): LinkDescriptor {
    if (!Number.isInteger(id) || id < this.actors || id >= this.actors + this.endpoints) {
      throw new RangeError(
        `endpoint ids are ${this.actors}..${this.actors + this.endpoints - 1}, got ${id}`,
      );
    }
    return this.#links[id] as LinkDescriptor;
  }

  /** Abrupt failure: the worker is terminated wherever it is; unpublished sends are lost. */
  async crash(id: ActorId): Promise<void> {
    const running = this.#take(id, 'crash');
    const terminated = running.worker.terminate();
    // The incarnation ends now, as a kernel resets a dead process's connections at once: the
    // others do not wait until the worker's heap is torn down (10-70 ms here), and its host,
    // should it run another round meanwhile, publishes nothing once it sees its own end.
    this.#ended(id, running.incarnation);
    await terminated;
    this.#bootSpare(id);
  }

  /** Records that `incarnation` of `id` ended (once) and wakes the others to learn it. */
  #ended(id: ActorId, incarnation: number): void {
    if (this.#downBoard.hasEnded(id, incarnation)) return;
    this.#downBoard.ended(id, incarnation);
    for (const peer of this.#running.keys()) this.#wake(peer);
  }

  /** Graceful stop: the actor finishes its current round and publishes what it sent. */
  async stop(id: ActorId): Promise<void> {
    const running = this.#take(id, 'stop');
    const stopped = running.control.stop();
    this.#wake(id);
    await stopped;
    await running.worker.terminate();
    this.#bootSpare(id);
  }

  /**
   * Starts a new incarnation of a stopped or crashed actor on the same links; resolves once its
   * `start` ran, with how long each step of its worker's start took.
   */
  async restart(id: ActorId): Promise<WorkerStart> {
    const requestedMs = sharedClockMs();
    assert(!this.#running.has(id), `restart: actor ${id} is running`);
    const spare = this.#spares.get(id);
    this.#spares.delete(id);
    return this.#assign(id, spare ?? this.#boot(id, 'cold'), requestedMs, spare !== undefined);
  }

  async stats(id: ActorId): Promise<HostStats> {
    return this.#control(id, 'stats', (control) => control.stats());
  }

  /** Actor `id`'s `status()` (its `stats()` if it has none): for polling. */
  async status(id: ActorId): Promise<Record<string, number>> {
    return this.#control(id, 'status', (control) => control.status());
  }

  /** Posts a control call to running actor `id` and wakes its worker to read it. */
  #control<T>(
    id: ActorId,
    what: string,
    call: (control: Remote<ActorControl>) => Promise<T>,
  ): Promise<T> {
    const running = this.#running.get(id);
    if (!running) throw new Error(`${what}: actor ${id} is not running`);
    const answer = call(running.control);
    this.#wake(id);
    return answer;
  }

  /** Ends an idle worker's park so it reads the control call just posted to it. */
  #wake(id: ActorId): void {
    new Doorbell((this.#links[id] as LinkDescriptor).doorbell).ring();
  }

  /** Stops every actor, ends the spare workers and closes endpoints made here. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    const attached = [...this.#attached];
    this.#attached.clear();
    await Promise.all(attached.map((endpoint) => endpoint.close()));
    await Promise.all([...this.#running.keys()].map((id) => this.stop(id)));
    const spares = [...this.#spares.values()];
    this.#spares.clear();
    await Promise.all(spares.map((spare) => spare.worker.terminate()));
  }

  #take(id: ActorId, what: string): Running {
    const running = this.#running.get(id);
    if (!running) throw new Error(`${what}: actor ${id} is not running`);
    this.#running.delete(id);
    return running;
  }

  /**
   * Creates a worker for actor `id`; it imports the actor module, then waits for its assignment.
   * A failure before it is ready is kept in `ready` for whoever assigns it.
   */
  #boot(id: ActorId, warm: 'first' | 'spare' | 'cold'): Booting {
    const spawnMs = sharedClockMs();
    const data: ActorWorkerData = {
      module: this.#options.module,
      ...(warm !== 'cold' && this.#options.warmUp !== false
        ? {
            warmUp: this.#configOf(id),
            warmUpDelayMs:
              warm === 'spare' ? (this.#options.spareWarmUpDelayMs ?? SPARE_WARM_UP_DELAY_MS) : 0,
            warmUpInterruptible: warm === 'spare',
          }
        : {}),
    };
    const worker = new Worker(new URL('./actor-worker.js', import.meta.url), { workerData: data });
    const ready = new Promise<ReadyMessage>((resolve, reject) => {
      const settle = (): void => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        worker.off('message', onMessage);
      };
      const onError = (err: Error): void => {
        settle();
        reject(new Error(`actor ${id} failed to start: ${err.message}`, { cause: err }));
      };
      const onExit = (code: number): void => {
        settle();
        reject(new Error(`actor ${id} failed to start: its worker exited with code ${code}`));
      };
      const onMessage = (msg: unknown): void => {
        settle();
        if ((msg as Partial<ReadyMessage> | null)?.heal === 'ready') resolve(msg as ReadyMessage);
        else reject(new Error(`actor ${id} sent ${JSON.stringify(msg)} before ready`));
      };
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.on('message', onMessage);
    });
    ready.catch(() => {}); // reported by #assign; a spare never assigned fails unseen
    return { worker, spawnMs, ready };
  }

  /** Boots a spare for actor `id`, which just went down (see spareWorkers). */
  #bootSpare(id: ActorId): void {
    if (
      this.#options.spareWorkers === false ||
      this.#shuttingDown ||
      this.#spares.has(id) ||
      this.#running.has(id)
    )
      return;
    const spare = this.#boot(id, 'spare');
    spare.worker.unref(); // idle, it must not keep the process alive
    this.#spares.set(id, spare);
  }

  /** Gives the next incarnation of actor `id` to `booting`; resolves once its `start` ran. */
  async #assign(
    id: ActorId,
    booting: Booting,
    requestedMs: number,
    spare: boolean,
  ): Promise<WorkerStart> {
    const { worker, spawnMs } = booting;
    const incarnation = this.#incarnations[id] ?? 0;
    this.#incarnations[id] = incarnation + 1;
    const assignment: ActorAssignment = {
      links: this.#links[id] as LinkDescriptor,
      config: this.#configOf(id),
      seed: ((this.#options.seed ?? 1) * 0x9e3779b1 + id * 0x85ebca6b + incarnation) | 0,
      incarnation,
      downBoard: this.#downBoard.sab,
    };
    worker.ref();
    worker.postMessage(assignment);
    let ready: ReadyMessage;
    try {
      ready = await booting.ready;
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    const readyMs = sharedClockMs();
    worker.on('error', (err) => {
      process.stderr.write(`actor ${id} worker failed: ${err.stack ?? err.message}\n`);
    });
    worker.on('exit', () => {
      if (this.#running.get(id)?.worker === worker) this.#running.delete(id);
      // However it ended (crash, stop, or an error), the other actors learn it now.
      this.#ended(id, incarnation);
    });
    this.#running.set(id, { worker, control: wrapControl<ActorControl>(worker), incarnation });
    return {
      requestedMs,
      spawnMs,
      ...ready.marks,
      readyMs,
      spare,
      ...(ready.warmUp !== undefined ? { warmUp: ready.warmUp } : {}),
    };
  }

  #configOf(id: ActorId): C {
    const config = this.#options.config;
    return typeof config === 'function' ? (config as (self: ActorId) => C)(id) : config;
  }
}
