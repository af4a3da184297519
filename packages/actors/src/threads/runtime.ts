import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import type { Remote } from 'comlink';
import type { ActorId, Message } from '../actor.js';
import type { Codec } from '../codec.js';
import type { ActorControl, ActorWorkerData, ReadyMessage, WorkerMarks } from './actor-worker.js';
import type { HostStats } from './actor-host.js';
import { wrapControl } from './control-parent.js';
import { Doorbell } from '../doorbell.js';
import { buildMesh, DEFAULT_RING_BYTES, type LinkDescriptor } from './links.js';
import { loadActorModule, type ActorModuleRef } from './module-ref.js';
import { ThreadEndpoint } from './thread-endpoint.js';
import { sharedClockMs } from './clock.js';

/** Most actors (plus endpoints) one runtime wires up: the mesh has n^2 rings. */
export const MAX_THREAD_ACTORS = 64;

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
}

/**
 * How one actor's worker started, on the clock all threads share (ms): the runtime's marks
 * around the worker's own. `readyMs - spawnMs` is the whole start.
 */
export interface WorkerStart extends WorkerMarks {
  /** The runtime began to start the actor (just before it created the Worker). */
  spawnMs: number;
  /** The runtime received the worker's ready message. */
  readyMs: number;
}

interface Running {
  worker: Worker;
  control: Remote<ActorControl>;
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

  private constructor(options: ThreadRuntimeOptions<C>, codec: Codec<M>) {
    const { actors, endpoints = 0, ringBytes = DEFAULT_RING_BYTES } = options;
    this.actors = actors;
    this.endpoints = endpoints;
    this.codec = codec;
    this.#options = options;
    this.#links = buildMesh(actors, endpoints, ringBytes);
    this.#incarnations = new Array<number>(actors).fill(0);
  }

  /** Builds the mesh and starts every actor; resolves when all have run `start`. */
  static async start<M extends Message, C>(options: ThreadRuntimeOptions<C>): Promise<ThreadRuntime<M, C>> {
    const { actors, endpoints = 0 } = options;
    if (!Number.isInteger(actors) || actors < 1) throw new RangeError(`actors must be a positive integer, got ${actors}`);
    if (!Number.isInteger(endpoints) || endpoints < 0) {
      throw new RangeError(`endpoints must be a non-negative integer, got ${endpoints}`);
    }
    if (actors + endpoints > MAX_THREAD_ACTORS) {
      throw new RangeError(`actors + endpoints must be at most ${MAX_THREAD_ACTORS}, got ${actors + endpoints}`);
    }
    const module = await loadActorModule<M, unknown, C>(options.module);
    const runtime = new ThreadRuntime<M, C>(options, module.codec);
    await Promise.all(Array.from({ length: actors }, (_, id) => runtime.#spawn(id)));
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
      throw new RangeError(`endpoint ids are ${this.actors}..${this.actors + this.endpoints - 1}, got ${id}`);
    }
    return this.#links[id] as LinkDescriptor;
  }

  /** Abrupt failure: the worker is terminated wherever it is; unpublished sends are lost. */
  async crash(id: ActorId): Promise<void> {
    const running = this.#take(id, 'crash');
    await running.worker.terminate();
  }

  /** Graceful stop: the actor finishes its current round and publishes what it sent. */
  async stop(id: ActorId): Promise<void> {
    const running = this.#take(id, 'stop');
    const stopped = running.control.stop();
    this.#wake(id);
    await stopped;
    await running.worker.terminate();
  }

  /**
   * Starts a new incarnation of a stopped or crashed actor on the same links; resolves once its
   * `start` ran, with how long each step of its worker's start took.
   */
  async restart(id: ActorId): Promise<WorkerStart> {
    assert(!this.#running.has(id), `restart: actor ${id} is running`);
    return this.#spawn(id);
  }

  async stats(id: ActorId): Promise<HostStats> {
    const running = this.#running.get(id);
    if (!running) throw new Error(`stats: actor ${id} is not running`);
    const stats = running.control.stats();
    this.#wake(id);
    return stats;
  }

  /** Ends an idle worker's park so it reads the control call just posted to it. */
  #wake(id: ActorId): void {
    new Doorbell((this.#links[id] as LinkDescriptor).doorbell).ring();
  }

  /** Stops every actor and closes endpoints made here. */
  async shutdown(): Promise<void> {
    for (const endpoint of this.#attached) endpoint.close();
    this.#attached.clear();
    await Promise.all([...this.#running.keys()].map((id) => this.stop(id)));
  }

  #take(id: ActorId, what: string): Running {
    const running = this.#running.get(id);
    if (!running) throw new Error(`${what}: actor ${id} is not running`);
    this.#running.delete(id);
    return running;
  }

  async #spawn(id: ActorId): Promise<WorkerStart> {
    const spawnMs = sharedClockMs();
    const config = this.#options.config;
    const incarnation = this.#incarnations[id] ?? 0;
    this.#incarnations[id] = incarnation + 1;
    const data: ActorWorkerData = {
      links: this.#links[id] as LinkDescriptor,
      module: this.#options.module,
      config: typeof config === 'function' ? (config as (self: ActorId) => C)(id) : config,
      seed: ((this.#options.seed ?? 1) * 0x9e3779b1 + id * 0x85ebca6b + incarnation) | 0,
      incarnation,
    };
    const worker = new Worker(new URL('./actor-worker.js', import.meta.url), { workerData: data });
    const marks = await new Promise<WorkerMarks>((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new Error(`actor ${id} failed to start: ${err.message}`, { cause: err }));
      };
      worker.once('error', onError);
      worker.once('message', (msg: unknown) => {
        worker.off('error', onError);
        if ((msg as Partial<ReadyMessage> | null)?.heal === 'ready') resolve((msg as ReadyMessage).marks);
        else reject(new Error(`actor ${id} sent ${JSON.stringify(msg)} before ready`));
      });
    });
    const readyMs = sharedClockMs();
    worker.on('error', (err) => {
      process.stderr.write(`actor ${id} worker failed: ${err.stack ?? err.message}\n`);
    });
    worker.on('exit', () => {
      if (this.#running.get(id)?.worker === worker) this.#running.delete(id);
    });
    this.#running.set(id, { worker, control: wrapControl<ActorControl>(worker) });
    return { spawnMs, ...marks, readyMs };
  }
}
