import { Piscina } from 'piscina';
import type { ActorId, Message } from '../actor.js';
import type { LinkDescriptor } from './links.js';
import type { ThreadRuntime } from './runtime.js';

/** What a load-generator task receives: its endpoint's rings and its own parameters. */
export interface LoadTask<P> {
  readonly links: LinkDescriptor;
  readonly params: P;
}

/**
 * Client load generators as piscina tasks: each task gets one client endpoint's rings in its
 * payload, attaches to them (`attachEndpoint`) and drives the actors directly over the rings.
 * The task module's default export is `(task: LoadTask<P>) => Promise<R>`.
 */
export class LoadGenerators<P, R> {
  readonly #pool: Piscina<LoadTask<P>, R>;

  constructor(taskModuleUrl: string | URL, threads: number) {
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`threads must be a positive integer, got ${threads}`);
    this.#pool = new Piscina<LoadTask<P>, R>({
      filename: taskModuleUrl.toString(),
      minThreads: threads,
      maxThreads: threads,
      // Tasks are async and wait on their doorbells with Atomics.waitAsync: the worker's event
      // loop must keep running, so piscina must not park it with a synchronous Atomics.wait.
      atomics: 'disabled',
    });
  }

  /** Runs one task per endpoint id, concurrently; resolves with their results in order. */
  run<M extends Message>(
    runtime: ThreadRuntime<M>,
    endpoints: readonly ActorId[],
    params: (id: ActorId) => P,
  ): Promise<R[]> {
    return Promise.all(
      endpoints.map((id) =>
        this.#pool.run({ links: runtime.endpointLinks(id), params: params(id) }),
      ),
    );
  }

  destroy(): Promise<void> {
    return this.#pool.destroy();
  }
}
