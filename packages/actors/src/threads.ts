/**
 * `@heal/actors/threads`: the thread runtime's driver side: `ThreadRuntime` spawns one worker
 * per actor and controls it over comlink. The workers themselves load only
 * `threads/actor-worker.js` and the actor module they are given (see module-ref.ts).
 */
export * from './threads/runtime.js';
export type { WorkerMarks } from './threads/actor-worker.js';
export type { ActorModuleRef } from './threads/module-ref.js';
export type { HostStats } from './threads/actor-host.js';
