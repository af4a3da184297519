import * as Comlink from 'comlink';
import nodeAdapter from 'comlink/dist/umd/node-adapter.js';
import type { MessagePort, Worker } from 'node:worker_threads';

type NodeEndpointFn = (port: MessagePort | Worker) => Comlink.Endpoint;

// The UMD build assigns the adapter function to module.exports, while its typings declare a
// default export; accept either shape.
const adapter = nodeAdapter as unknown as NodeEndpointFn | { default: NodeEndpointFn };
const nodeEndpoint: NodeEndpointFn = typeof adapter === 'function' ? adapter : adapter.default;

/** Exposes `api` to the parent over the worker's own MessagePort (the control plane). */
export function exposeControl(api: object, port: MessagePort): void {
  Comlink.expose(api, nodeEndpoint(port));
}

/** The parent's proxy of a worker's control API. */
export function wrapControl<T>(worker: Worker): Comlink.Remote<T> {
  return Comlink.wrap<T>(nodeEndpoint(worker));
}
