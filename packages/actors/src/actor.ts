import type { Codec, MessageHeader } from './codec.js';

/** Actors and client endpoints are numbered densely from 0 within one runtime. */
export type ActorId = number;
export type TimerId = number;

/** Every message is a plain object with a `kind` and the header fields. */
export type Message = { kind: string } & MessageHeader;

/**
 * Everything an actor may do to the world. The runtime (thread or simulator) implements it;
 * protocol code reaches time, randomness, the network and its storage only through here.
 * Sends and timers take effect after the current handler returns, in call order.
 */
export interface ActorContext<M extends Message = Message, S = unknown> {
  readonly self: ActorId;
  /** 0 at the actor's first start, then one more at every restart (as a supervisor counts). */
  readonly incarnation: number;
  /** Milliseconds on a monotonic clock (virtual in the simulator). */
  now(): number;
  /**
   * CPU time this actor has used, in ms, for differences between two calls (threads: its
   * thread's; the simulator: the virtual CPU charged to it). NaN where the runtime measures none.
   */
  cpuMs(): number;
  /** Uniform in [0, 1), from the runtime's seeded generator. */
  random(): number;
  /** Queues `msg` for `to`. `msg.sender` must be `self`; the message must not be mutated later. */
  send(to: ActorId, msg: M): void;
  /** Calls `tick(tag)` after `delayMs`; returns an id for `cancelTimer`. */
  setTimer(delayMs: number, tag: number): TimerId;
  cancelTimer(id: TimerId): void;
  /** The actor's storage, created by the module's `createStorage`; survives crashes as it dictates. */
  readonly storage: S;
}

/**
 * An actor is a state machine. `start` runs at every (re)start with fresh volatile state; the
 * runtime calls one handler at a time, never concurrently.
 */
export interface Actor<M extends Message = Message, S = unknown> {
  start(ctx: ActorContext<M, S>): void;
  receive(msg: M, ctx: ActorContext<M, S>): void;
  tick(tag: number, ctx: ActorContext<M, S>): void;
  /**
   * Optional: called after a batch of handler calls (the simulator: after every handler; the
   * thread runtime: after each poll round and after each timer), before the batch's sends are
   * published. Order: handlers, then `flush`, then every send of the batch (and of `flush`)
   * goes out. An actor syncs its storage here and only then sends what must follow durability.
   */
  flush?(ctx: ActorContext<M, S>): void;
  /**
   * Optional: incarnation `incarnation` of actor `peer` ended, as the runtime saw (a worker that
   * exited: a crashed process's connections reset, so its peers learn it at once). Failures that
   * nobody sees (power loss, a hang, a partition) are never reported: only silence tells those.
   */
  peerDown?(peer: ActorId, incarnation: number, ctx: ActorContext<M, S>): void;
  /** Counters for the control plane's `stats()`. */
  stats?(): Record<string, number>;
  /**
   * Optional: a few values cheap enough to poll often (the control plane's `status()`), where
   * `stats()` is not: a poll runs on the actor's own thread, in the time it serves.
   */
  status?(): Record<string, number>;
}

/**
 * Storage that can be told about a crash: the simulator calls `crash` so that volatile
 * parts are lost exactly as the medium's semantics say (e.g. unfenced pmem lines).
 */
export interface CrashableStorage {
  crash(seed: number): void;
}

/**
 * What a runtime needs to run a kind of actor. The thread runtime imports the module by URL in
 * each worker, so `config` must be structured-cloneable.
 */
export interface ActorModule<M extends Message = Message, S = unknown, C = unknown> {
  readonly codec: Codec<M>;
  createActor(self: ActorId, config: C): Actor<M, S>;
  /** Opens (or creates) the storage of `self`; called at every (re)start in threads. */
  createStorage?(self: ActorId, config: C): S;
  /**
   * Runs the actor's code on scratch state of its own, so that a worker's first real messages
   * do not pay for compiling it (V8 compiles a function when it first runs). The thread runtime
   * calls it in a worker before its actor is assigned (ThreadRuntimeOptions.warmUp); what it
   * returns is reported with the worker's start. In a spare, `interrupted()` turns true once
   * the assignment arrived: a warm-up checks it often and returns soon after, so it never
   * delays a restart (a first worker's warm-up runs to the end before its actor starts).
   */
  warmUp?(config: C, interrupted: () => boolean): unknown;
}
