/** `@heal/kv/client`: the client API, over any endpoint (a thread's rings, the simulator's). */
export * from './client/kv-client.js';
export * from './client/kv-error.js';
