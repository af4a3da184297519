import { expose } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { MessagePort } from 'node:worker_threads';

/**
 * Exposes `api` to the parent over the worker's own MessagePort (the control plane). Only
 * comlink's `expose` runs in a worker; `wrap` is the parent's (control-parent.ts).
 */
export function exposeControl(api: object, port: MessagePort): void {
  expose(api, nodeEndpoint(port));
}
