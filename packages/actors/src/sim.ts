/**
 * `@heal/actors/sim`: the deterministic simulator (one thread, seeded PRNG, virtual clock,
 * network model, optional CPU and bandwidth models), its trace, and the seed-replay helpers of
 * simulation tests.
 */
export * from './sim/trace.js';
export * from './sim/network.js';
export * from './sim/nic.js';
export * from './sim/cpu.js';
export { JOB_BATCH_MAX, INBOX_BYTES_MAX } from './sim/cpu-runner.js';
export * from './sim/simulator.js';
export * from './sim/replay.js';
