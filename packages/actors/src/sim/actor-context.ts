import assert from 'node:assert/strict';
import type { ActorContext, ActorId, Message, TimerId } from '../actor.js';
import type { Slot } from './sim-types.js';

/**
 * Actor `self`'s context in its current incarnation, with the given clocks and send.
 * `arm(atMs, incarnation, tag)` schedules a timer event and returns its id.
 */
export function actorContext<M extends Message, S>(
  self: ActorId,
  slot: Slot<M, S>,
  clock: () => number,
  cpu: () => number,
  send: (to: ActorId, msg: M) => void,
  arm: (atMs: number, incarnation: number, tag: number) => TimerId,
): ActorContext<M, S> {
  const incarnation = slot.incarnation;
  return {
    self,
    incarnation,
    storage: slot.storage,
    now: clock,
    cpuMs: cpu,
    random: () => slot.prng.float(),
    send,
    setTimer: (delayMs, tag) => {
      assert(
        delayMs >= 0 && Number.isFinite(delayMs),
        `timer delay must be finite and >= 0, got ${delayMs}`,
      );
      const id = arm(clock() + delayMs, incarnation, tag);
      slot.liveTimers.add(id);
      return id;
    },
    cancelTimer: (id) => {
      slot.liveTimers.delete(id);
    },
  };
}
