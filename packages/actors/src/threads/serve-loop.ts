import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { isMainThread } from 'node:worker_threads';
import type { TimerDeadlines } from './idle-slice.js';
import type { RingPort } from './port.js';
import type { Message } from '../actor.js';

/** Busy rounds between yields to the event loop, so timers and control calls are not starved. */
export const ROUNDS_PER_YIELD = 32;
/** How long an endpoint whose links are backlogged waits before retrying them. */
export const BACKLOG_RETRY_MS = 1;

/**
 * The receive loop of one endpoint (an actor's worker, or a client): `round` polls, handles and
 * publishes, returning how many records it took. When idle, a worker parks its thread until a
 * producer rings or its next timer is due. Rung with records waiting, it goes straight to them
 * (the park counts towards ROUNDS_PER_YIELD); otherwise (a timer is due, or the runtime rang to
 * have a control call read) it yields to its event loop. The main thread, which
 * must stay responsive to everything else it runs, waits asynchronously, always with a bound
 * (an Atomics.waitAsync wake-up can come late on a loaded machine) of at least 1 ms (a
 * timed-out wait resolves through the event loop, so a due timer runs; a zero wait would resolve
 * as a microtask and starve it).
 */
export async function serveLoop<M extends Message>(
  port: RingPort<M>,
  deadlines: TimerDeadlines,
  running: () => boolean,
  round: () => number,
): Promise<void> {
  let rounds = 0;
  while (running()) {
    if (round() === 0) {
      if (isMainThread) {
        await port.wait(
          port.hasBacklog() ? BACKLOG_RETRY_MS : Math.max(1, deadlines.idleSliceMs()),
        );
        rounds = 0;
      } else {
        const rung = port.waitSync(port.hasBacklog() ? BACKLOG_RETRY_MS : deadlines.idleSliceMs());
        if (!rung || port.isEmpty() || ++rounds >= ROUNDS_PER_YIELD) {
          await yieldToEventLoop();
          rounds = 0;
        }
      }
    } else if (++rounds >= ROUNDS_PER_YIELD) {
      await yieldToEventLoop();
      rounds = 0;
    }
  }
}
