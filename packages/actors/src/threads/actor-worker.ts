/**
 * Entry point of one actor's worker thread. workerData carries the actor's links, its module
 * reference, config and seed; the parent controls it over comlink (stop, stats). When the
 * actor's `start` has run, the worker posts `{heal: 'ready', marks}`: when each step of its
 * start ended, on the clock all threads share.
 *
 * What this script loads is all a worker loads besides the actor module: a few files of this
 * package and comlink's `expose` (no simulator, no load generators, no thread runtime).
 */
import { parentPort, workerData } from 'node:worker_threads';
import assert from 'node:assert/strict';
import type { Message } from '../actor.js';
import { ActorHost } from './actor-host.js';
import { sharedClockMs } from './clock.js';
import { exposeControl } from './control-worker.js';
import type { LinkDescriptor } from './links.js';
import { loadActorModule, type ActorModuleRef } from './module-ref.js';

export interface ActorWorkerData {
  links: LinkDescriptor;
  module: ActorModuleRef;
  config: unknown;
  seed: number;
  incarnation: number;
}

/** When each step of a worker's start ended (shared clock, ms); see WorkerStart. */
export interface WorkerMarks {
  /** This script runs (its own imports are done). */
  scriptMs: number;
  /** The actor module is imported. */
  importedMs: number;
  /** `createStorage` returned: the medium is open. */
  storageMs: number;
  /** `createActor` and the actor's `start` returned. */
  startedMs: number;
}

/** The message a worker posts once its actor started. */
export interface ReadyMessage {
  heal: 'ready';
  marks: WorkerMarks;
}

/** The control plane each actor worker exposes. */
export interface ActorControl {
  stop(): Promise<void>;
  stats(): ReturnType<ActorHost<Message, unknown, unknown>['stats']>;
}

const scriptMs = sharedClockMs();
assert(parentPort, 'actor-worker must run in a worker thread');
const data = workerData as ActorWorkerData;
const module = await loadActorModule<Message, unknown, unknown>(data.module);
const importedMs = sharedClockMs();
const host = new ActorHost(data.links, module, data.config, data.seed, data.incarnation);
host.start();
const startedMs = sharedClockMs();
const control: ActorControl = {
  stop: () => host.stop(),
  stats: () => host.stats(),
};
exposeControl(control, parentPort);
const ready: ReadyMessage = { heal: 'ready', marks: { scriptMs, importedMs, storageMs: host.storageOpenedMs, startedMs } };
parentPort.postMessage(ready);
