/**
 * `@heal/actors/core`: what protocol code and an actor module need, and all a replica worker
 * loads from this package besides the worker script itself: the actor API, the binary codec and
 * its fields and byte strings (the seeded PRNG is @heal/base's). No threads, no simulator, no dependencies.
 */
export * from './actor.js';
export * from './endpoint.js';
export * from './codec.js';
export * from './codec-error.js';
export * from './byte-string.js';
export * as fields from './codec-fields.js';
export type { ActorModuleRef } from './threads/module-ref.js';
