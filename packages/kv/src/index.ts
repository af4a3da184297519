/**
 * `@heal/kv`: everything, for embedders and tests. Code that runs in a worker or at startup
 * imports the narrow entry point it needs instead (package.json `exports`): `replica`,
 * `replica-module`, `client`, `threads`, `sim`, `checker`.
 */
export * from './replica.js';
export * from './replica-module.js';
export * from './client.js';
export * from './threads.js';
export * from './sim.js';
export * from './checker.js';
