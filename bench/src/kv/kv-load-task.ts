import assert from 'node:assert/strict';
import { attachEndpoint, type LoadTask } from '@heal/actors';
import { Prng } from '@heal/base';
import { KvClient, KvError, kvReplicaModule, type KvWire } from '@heal/kv';
import { newLatencyHistogram, recordLatencyUs, type LatencyHistogram } from '../demo/histogram.js';

export interface KvLoadParams {
  replicas: number;
  keys: number;
  readRatio: number;
  valueBytes: number;
  /** Operations in flight at once (closed loop with a window): one per session. */
  window: number;
  /** This generator's index among the load's generators (its sessions follow the earlier ones'). */
  client: number;
  seed: number;
  timeoutMs: number;
  /** Shared clock times: operations run until `endAtMs`; only those started from `startAtMs` count. */
  startAtMs: number;
  endAtMs: number;
  /** Write every key in [preloadFrom, preloadTo) first, then return (no measurement). */
  preloadFrom?: number;
  preloadTo?: number;
}

export interface KvLoadResult {
  ops: number;
  reads: number;
  writes: number;
  errors: number;
  /** Operations counted above, by the replica that served them. */
  opsByReplica: number[];
  /** Latency histogram in µs (see histogram.ts), of operations started in the window. */
  latencyUs: LatencyHistogram;
}

/**
 * The replica of session `slot` (0 to window - 1) of generator `client`: the load's sessions,
 * numbered across its generators, are bound to replicas in turn, so every replica serves the
 * same number of sessions (within one).
 */
export function sessionReplica(
  client: number,
  window: number,
  slot: number,
  replicas: number,
): number {
  return (client * window + slot) % replicas;
}

/**
 * A piscina task: one KvClient on its own ring endpoint, running `window` closed-loop sessions
 * with one operation in flight each, uniform random keys and the given read ratio. A session
 * sends every operation to its own replica, as a client attached to its local replica does: a
 * batch of answers from one replica then brings one batch of new operations back to it, where
 * sending each operation to the next replica in turn would spread every batch over all of them.
 */
export default async function kvLoad(task: LoadTask<KvLoadParams>): Promise<KvLoadResult> {
  const p = task.params;
  assert(p.window >= 1 && p.keys >= 1 && p.replicas >= 1, 'bad kv load params');
  const endpoint = attachEndpoint<KvWire>(task.links, kvReplicaModule.codec);
  // This load calls no persistScope(): the client need not keep the puts' ts for one.
  const client = new KvClient(endpoint, {
    replicas: p.replicas,
    timeoutMs: p.timeoutMs,
    scope: false,
  });
  const prng = new Prng(p.seed);
  const value = 'v'.repeat(p.valueBytes);
  // Built once: a key string per operation would be the generator's largest allocation.
  const keys = Array.from({ length: p.keys }, (_, i) => `k${i}`);
  const result: KvLoadResult = {
    ops: 0,
    reads: 0,
    writes: 0,
    errors: 0,
    opsByReplica: new Array<number>(p.replicas).fill(0),
    latencyUs: newLatencyHistogram(),
  };
  try {
    if (p.preloadFrom !== undefined && p.preloadTo !== undefined) {
      await preload(client, p.preloadFrom, p.preloadTo, p.window, value);
      return result;
    }
    await new Promise<void>((resolve) => {
      let running = 0;
      const issue = (replica: number): void => {
        const startMs = endpoint.now();
        if (startMs >= p.endAtMs) {
          if (--running === 0) resolve();
          return;
        }
        const key = keys[prng.int(p.keys)] as string;
        const read = prng.float() < p.readRatio;
        const op = read
          ? { kind: 'get' as const, key, replica }
          : { kind: 'put' as const, key, value, replica };
        client.submit(op, (err) => {
          if (startMs >= p.startAtMs) {
            if (err) result.errors++;
            else {
              result.ops++;
              result.opsByReplica[replica]++;
              if (read) result.reads++;
              else result.writes++;
              recordLatencyUs(result.latencyUs, (endpoint.now() - startMs) * 1000);
            }
          }
          issue(replica);
        });
      };
      for (let slot = 0; slot < p.window; slot++) {
        running++;
        issue(sessionReplica(p.client, p.window, slot, p.replicas));
      }
    });
    return result;
  } finally {
    client.close();
    await endpoint.close();
  }
}

/** Attempts per key while preloading: a put that timed out (a view change, say) is sent again. */
const PRELOAD_ATTEMPTS = 5;

async function preload(
  client: KvClient,
  from: number,
  to: number,
  window: number,
  value: string,
): Promise<void> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) {
      const key = `k${next++}`;
      for (let attempt = 1; ; attempt++) {
        try {
          await client.put(key, value);
          break;
        } catch (err) {
          if (!(err instanceof KvError) || attempt === PRELOAD_ATTEMPTS) throw err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
}
