export * from './hash.js';
export * from './prng.js';
