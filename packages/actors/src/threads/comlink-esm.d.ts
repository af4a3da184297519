/**
 * Types of comlink's ES module builds, which the thread runtime imports by path: the package's
 * `main` is its UMD build, which Node would load through the CommonJS loader (and its export
 * lexer) in every worker; the ES modules load directly. The types are the package's own.
 */
declare module 'comlink/dist/esm/comlink.mjs' {
  export * from 'comlink';
}

declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  import type { MessagePort, Worker } from 'node:worker_threads';
  /** Adapts a Node MessagePort or Worker (`on`/`off` events) to comlink's Endpoint. */
  export default function nodeEndpoint(port: MessagePort | Worker): Endpoint;
}
