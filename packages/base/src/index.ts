export * from './hash.js';
export * from './prng.js';
export * from './byte-string.js';
