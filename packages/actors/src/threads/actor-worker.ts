/**
 * Entry point of one actor's worker thread. workerData carries the actor's links, its module
 * reference, config and seed; the parent controls it over comlink (ready, stop, stats).
 */
import { parentPort, workerData } from 'node:worker_threads';
import assert from 'node:assert/strict';
import type { Message } from '../actor.js';
import { ActorHost } from './actor-host.js';
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

/** The control plane each actor worker exposes. */
export interface ActorControl {
  stop(): Promise<void>;
  stats(): ReturnType<ActorHost<Message, unknown, unknown>['stats']>;
}

assert(parentPort, 'actor-worker must run in a worker thread');
const data = workerData as ActorWorkerData;
const module = await loadActorModule<Message, unknown, unknown>(data.module);
const host = new ActorHost(data.links, module, data.config, data.seed, data.incarnation);
const control: ActorControl = {
  stop: () => host.stop(),
  stats: () => host.stats(),
};
host.start();
exposeControl(control, parentPort);
parentPort.postMessage({ heal: 'ready' });
