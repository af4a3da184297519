/**
 * `@heal/actors`: everything, for embedders and tests. Code that runs in a worker or at startup
 * imports the narrow entry point it needs instead (package.json `exports`): `core`, `rings`,
 * `threads`, `load-generators`, `sim`.
 */
export * from './core.js';
export * from './rings.js';
export * from './threads.js';
export * from './load-generators.js';
export * from './sim.js';
