import type { ActorId, Message } from './actor.js';

export interface Cancellable {
  cancel(): void;
}

/**
 * A party outside the actors (a client, a load generator, a test driver) that sends to and
 * receives from them. The simulator and the thread runtime each provide one, so client code
 * such as a KV client runs unchanged on both.
 */
export interface Endpoint<M extends Message = Message> {
  readonly self: ActorId;
  send(to: ActorId, msg: M): void;
  /**
   * Sets the one handler for incoming messages. `roundEnd`, if given, runs after each batch of
   * messages handed to `handler` (threads: each poll round that brought any; the simulator:
   * each message), before what the batch sent is published: a party can gather what it sends
   * while handling a batch and send it as fewer messages.
   */
  onMessage(handler: (msg: M) => void, roundEnd?: () => void): void;
  /** Milliseconds on the runtime's clock (virtual in the simulator). */
  now(): number;
  /** Runs `fn` after `delayMs` on the runtime's clock. */
  schedule(delayMs: number, fn: () => void): Cancellable;
  /** Stops receiving. On threads the promise resolves once the receive loop has ended. */
  close(): void | Promise<void>;
}
