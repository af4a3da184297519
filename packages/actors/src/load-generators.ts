/** `@heal/actors/load-generators`: client load generators as piscina tasks. */
export * from './threads/load-generators.js';
