import type { ActorId, Message } from '../actor.js';
import type { Codec } from '../codec.js';
import type { Cancellable, Endpoint } from '../endpoint.js';
import { sharedClockMs } from './clock.js';
import type { LinkDescriptor } from './links.js';
import { RingPort } from './port.js';
import { serveLoop } from './serve-loop.js';
import { TimerDeadlines } from './idle-slice.js';

/**
 * A client's endpoint on the ring mesh, in whatever thread attaches it (the main thread, or a
 * piscina task via `attachEndpoint`). Sends made in one turn of the event loop are published
 * together at the end of that turn.
 */
export class ThreadEndpoint<M extends Message> implements Endpoint<M> {
  readonly self: ActorId;
  readonly #port: RingPort<M>;
  #handler: ((msg: M) => void) | undefined;
  #roundEnd: (() => void) | undefined;
  #open = true;
  #flushQueued = false;
  #nextTimer = 1;
  readonly #deadlines = new TimerDeadlines();
  readonly #loopDone: Promise<void>;

  constructor(links: LinkDescriptor, codec: Codec<M>) {
    this.self = links.self;
    this.#port = new RingPort(links, codec);
    this.#loopDone = this.#loop();
  }

  get stats(): RingPort<M>['stats'] {
    return this.#port.stats;
  }

  send(to: ActorId, msg: M): void {
    if (!this.#open) throw new Error(`endpoint ${this.self} is closed`);
    this.#port.send(to, msg);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => {
        this.#flushQueued = false;
        this.#port.flush();
      });
    }
  }

  onMessage(handler: (msg: M) => void, roundEnd?: () => void): void {
    this.#handler = handler;
    this.#roundEnd = roundEnd;
  }

  now(): number {
    return sharedClockMs();
  }

  schedule(delayMs: number, fn: () => void): Cancellable {
    const id = this.#nextTimer++;
    this.#deadlines.add(id, delayMs);
    const timer = setTimeout(() => {
      this.#deadlines.delete(id);
      fn();
    }, delayMs);
    return {
      cancel: () => {
        clearTimeout(timer);
        this.#deadlines.delete(id);
      },
    };
  }

  /** Stops receiving; resolves when the receive loop has ended. */
  close(): Promise<void> {
    this.#open = false;
    this.#port.flush();
    this.#port.doorbell.ring();
    return this.#loopDone;
  }

  async #loop(): Promise<void> {
    const dispatch = (msg: M): void => this.#handler?.(msg);
    await serveLoop(
      this.#port,
      this.#deadlines,
      () => this.#open,
      () => {
        const n = this.#port.poll(dispatch);
        if (n > 0) this.#roundEnd?.();
        this.#port.flush();
        return n;
      },
    );
  }
}

/** Attaches an endpoint from its links (inside a piscina task, say). */
export function attachEndpoint<M extends Message>(
  links: LinkDescriptor,
  codec: Codec<M>,
): ThreadEndpoint<M> {
  return new ThreadEndpoint(links, codec);
}
