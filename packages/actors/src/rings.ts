/**
 * `@heal/actors/rings`: the shared-memory data plane, for any thread that attaches to a
 * runtime's rings (a client in the driver, a piscina load generator): SPSC rings, doorbells,
 * the mesh's link descriptors, endpoints, and the clock shared by every thread of a process.
 * No worker is spawned from here and no control plane is loaded.
 */
export * from './ring.js';
export * from './doorbell.js';
export * from './threads/links.js';
export * from './threads/port.js';
export * from './threads/thread-endpoint.js';
export * from './threads/clock.js';
