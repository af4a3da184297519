/**
 * Entry point of one actor's worker thread. workerData names the actor module, which the worker
 * imports first; then it waits for its assignment (an ActorAssignment message: the actor's
 * links, config, seed and incarnation), opens the actor's storage, runs its `start`, exposes
 * its control plane (comlink: stop, stats) and posts `{heal: 'ready', marks}`, the times at
 * which each step ended on the clock all threads share.
 *
 * The runtime posts the assignment right after creating the worker (a cold start), or later:
 * a spare worker is created while its actor is down, boots and imports the module, and is
 * assigned the actor when it restarts (see ThreadRuntimeOptions.spareWorkers). Either way it
 * runs one incarnation of one actor.
 *
 * What this script loads is all a worker loads besides the actor module: a few files of this
 * package and comlink's `expose` (no simulator, no load generators, no thread runtime).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import assert from 'node:assert/strict';
import type { Message } from '../actor.js';
import { ActorHost } from './actor-host.js';
import { sharedClockMs } from './clock.js';
import { exposeControl } from './control-worker.js';
import type { LinkDescriptor } from './links.js';
import { loadActorModule, type ActorModuleRef } from './module-ref.js';
import { prepareThreadCpu } from './thread-cpu.js';

export interface ActorWorkerData {
  module: ActorModuleRef;
  /** The config to run the module's `warmUp` with before the assignment (ThreadRuntimeOptions.warmUp). */
  warmUp?: unknown;
  /**
   * A spare's warm-up waits this long first, so that it does not take cores from the survivors
   * while they remove its actor, and is skipped if the assignment comes first.
   */
  warmUpDelayMs?: number;
  /**
   * A spare's warm-up ends when the assignment arrives (its actor is waiting on a restart); a
   * first worker's runs to the end first (the cluster's start waits for it, not a recovery).
   */
  warmUpInterruptible?: boolean;
}

/** The one message a worker receives before its control plane: the actor it runs. */
export interface ActorAssignment {
  links: LinkDescriptor;
  config: unknown;
  seed: number;
  incarnation: number;
  /** The runtime's DownBoard (see down-board.ts). */
  downBoard: SharedArrayBuffer;
}

/** When each step of a worker's start ended (shared clock, ms); see WorkerStart. */
export interface WorkerMarks {
  /** This script runs (its own imports are done). */
  scriptMs: number;
  /** The actor module is imported. */
  importedMs: number;
  /** The module's `warmUp` returned (`importedMs` if it did not run). */
  warmedUpMs: number;
  /** The assignment arrived. */
  assignedMs: number;
  /** `createStorage` returned: the medium is open. */
  storageMs: number;
  /** `createActor` and the actor's `start` returned. */
  startedMs: number;
}

/** The message a worker posts once its actor started. */
export interface ReadyMessage {
  heal: 'ready';
  marks: WorkerMarks;
  /** What the module's `warmUp` returned, if it ran. */
  warmUp?: unknown;
}

/** The control plane each actor worker exposes. */
export interface ActorControl {
  stop(): Promise<void>;
  stats(): ReturnType<ActorHost<Message, unknown, unknown>['stats']>;
  status(): Record<string, number>;
}

const scriptMs = sharedClockMs();
const port = parentPort;
assert(port, 'actor-worker must run in a worker thread');
// The actor's CPU clock (ActorContext.cpuMs) opens its file now, not in a restart's path.
prepareThreadCpu();
const module = await loadActorModule<Message, unknown, unknown>(
  (workerData as ActorWorkerData).module,
);
const importedMs = sharedClockMs();
let assigned: ActorAssignment | undefined;
let onAssignment!: (msg: ActorAssignment) => void;
const assignmentArrives = new Promise<ActorAssignment>((resolve) => {
  onAssignment = (msg) => resolve((assigned = msg));
  port.once('message', onAssignment);
});
/**
 * Whether the assignment arrived, also while a synchronous warm-up keeps the event loop from
 * delivering it: then it is taken off the port here (and the listener that awaited it removed,
 * so that it does not take the control plane's first message for another assignment).
 */
const interrupted = (): boolean => {
  if (assigned !== undefined) return true;
  const received = receiveMessageOnPort(port);
  if (received === undefined) return false;
  port.off('message', onAssignment);
  onAssignment(received.message as ActorAssignment);
  return true;
};
const data = workerData as ActorWorkerData;
let warmUp: unknown;
if (data.warmUp !== undefined && module.warmUp) {
  const delayMs = data.warmUpDelayMs ?? 0;
  // Unref'd: a pending delay must not keep a stopped worker alive.
  if (delayMs > 0)
    await Promise.race([assignmentArrives, sleep(delayMs, undefined, { ref: false })]);
  // A warm-up only saves time: one that fails is reported, and the worker serves its actor.
  if (delayMs === 0 || assigned === undefined) {
    try {
      warmUp = module.warmUp(data.warmUp, data.warmUpInterruptible ? interrupted : () => false);
    } catch (err) {
      warmUp = { error: err instanceof Error ? err.message : String(err) };
    }
  }
}
const warmedUpMs = sharedClockMs();
const assignment = await assignmentArrives;
const assignedMs = sharedClockMs();
const host = new ActorHost(
  assignment.links,
  module,
  assignment.config,
  assignment.seed,
  assignment.incarnation,
  assignment.downBoard,
);
host.start();
const startedMs = sharedClockMs();
const control: ActorControl = {
  stop: () => host.stop(),
  stats: () => host.stats(),
  status: () => host.status(),
};
exposeControl(control, port);
const ready: ReadyMessage = {
  heal: 'ready',
  marks: {
    scriptMs,
    importedMs,
    warmedUpMs,
    assignedMs,
    storageMs: host.storageOpenedMs,
    startedMs,
  },
  ...(warmUp !== undefined ? { warmUp } : {}),
};
port.postMessage(ready);
