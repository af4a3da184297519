/**
 * `@heal/actors/sim`: the deterministic simulator (one thread, seeded PRNG, virtual clock,
 * network model), its trace, and the seed-replay helpers of simulation tests.
 */
export * from './sim/trace.js';
export * from './sim/network.js';
export * from './sim/simulator.js';
export * from './sim/replay.js';
