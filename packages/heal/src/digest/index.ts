export * from './digest-auth.js';
export * from './merkle-descent.js';
