import type { Actor, ActorId, ActorModule, Message, TimerId } from '../actor.js';
import type { Prng } from '@heal/base';
import type { CpuOptions, SliceEnd } from './cpu.js';
import type { LinkModel } from './network.js';
import type { NicModel } from './nic.js';

/** The options, events, per-actor state and counters of a Simulation (simulator.ts). */

export interface SimulationOptions<M extends Message, S, C> {
  seed: number;
  module: ActorModule<M, S, C>;
  /** Actors get ids 0..actors-1. */
  actors: number;
  /** External endpoints (clients, test drivers) get ids actors..actors+endpoints-1. */
  endpoints?: number;
  config: C | ((self: ActorId) => C);
  network?: Partial<LinkModel>;
  /** Lines of trace kept for failure reports. */
  traceLines?: number;
  /**
   * The CPU model (cpu.ts): handlers cost virtual time and messages wait while their actor is
   * busy. Off by default: every handler takes no time, as before the model existed.
   */
  cpu?: CpuOptions;
  /** Every actor's and endpoint's NIC (nic.ts); default unlimited (no bandwidth model). */
  nic?: Partial<NicModel>;
}

export type Event =
  /** `nic`: it still has to pass the receiver's NIC (bandwidth model on). */
  | {
      at: number;
      seq: number;
      type: 'deliver';
      from: ActorId;
      to: ActorId;
      bytes: Uint8Array;
      nic: boolean;
    }
  | {
      at: number;
      seq: number;
      type: 'timer';
      to: ActorId;
      incarnation: number;
      id: TimerId;
      tag: number;
    }
  | { at: number; seq: number; type: 'down'; from: ActorId; to: ActorId; incarnation: number }
  | { at: number; seq: number; type: 'call'; label: string; fn: () => void }
  | { at: number; seq: number; type: 'slice'; slice: SliceEnd };

export interface Slot<M extends Message, S> {
  actor: Actor<M, S> | undefined;
  /** Bumped at every crash; timers of an older incarnation never fire. */
  incarnation: number;
  storage: S;
  prng: Prng;
  liveTimers: Set<TimerId>;
}

export interface SimulationStats {
  events: number;
  delivered: number;
  lost: number;
  duplicated: number;
  droppedPartition: number;
  droppedDown: number;
  codecErrors: number;
  timersFired: number;
  /** CPU model: messages dropped because their receiver's inbox was full. */
  droppedOverload: number;
}
