import { wrap, type Remote } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { Worker } from 'node:worker_threads';

/** The parent's proxy of a worker's control API (the worker side is control-worker.ts). */
export function wrapControl<T>(worker: Worker): Remote<T> {
  return wrap<T>(nodeEndpoint(worker));
}
