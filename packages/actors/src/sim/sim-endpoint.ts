import type { ActorId, Message } from '../actor.js';
import type { Cancellable, Endpoint } from '../endpoint.js';

/** What an endpoint needs of its simulation. */
export interface EndpointHost<M extends Message> {
  transmit(from: ActorId, to: ActorId, msg: M): void;
  readonly now: number;
  after(delayMs: number, label: string, fn: () => void): void;
}

/**
 * An external party (a client, a test driver) attached to the simulated network. Without the
 * CPU model each message is handed to it alone (`dispatch`); with it, a job hands it a batch
 * (`handle` each, then `endRound`), as a thread endpoint's poll round does.
 */
export class SimEndpoint<M extends Message> implements Endpoint<M> {
  #handler: ((msg: M) => void) | undefined;
  #roundEnd: (() => void) | undefined;

  constructor(
    readonly self: ActorId,
    readonly sim: EndpointHost<M>,
  ) {}

  send(to: ActorId, msg: M): void {
    this.sim.transmit(this.self, to, msg);
  }

  now(): number {
    return this.sim.now;
  }

  onMessage(handler: (msg: M) => void, roundEnd?: () => void): void {
    this.#handler = handler;
    this.#roundEnd = roundEnd;
  }

  schedule(delayMs: number, fn: () => void): Cancellable {
    let live = true;
    this.sim.after(delayMs, `endpoint ${this.self} timer`, () => {
      if (live) fn();
    });
    return {
      cancel: () => {
        live = false;
      },
    };
  }

  dispatch(msg: M): void {
    if (!this.#handler) return;
    this.#handler(msg);
    this.#roundEnd?.();
  }

  /** Hands one message of a batch to the handler; `endRound` follows the batch. */
  handle(msg: M): void {
    this.#handler?.(msg);
  }

  endRound(): void {
    if (this.#handler) this.#roundEnd?.();
  }

  close(): void {
    this.#handler = undefined;
    this.#roundEnd = undefined;
  }
}
