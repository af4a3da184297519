import { Prng } from '@heal/base';
import { datasetKey } from '../storage/dataset.js';
import type { SimCluster } from './sim-cluster.js';

export interface WorkloadOptions {
  keys: number;
  writeRatio: number;
  /** Operations per client (Infinity: until `stop()`). */
  opsPerClient: number;
  /** Bytes of each written value (default: short unique strings). */
  valueBytes?: number;
  /** Virtual ms between a client's answer and its next call (0: at once). */
  thinkMs: number;
  /** Ask a random replica per operation instead of the client's own. */
  randomReplica?: boolean;
  /**
   * Scope model: the share of operations that are `persistScope()` calls over the session's
   * puts so far (default 0), so writes reach their DP in the simulated load too.
   */
  scopeRatio?: number;
}

export interface WorkloadProgress {
  completed: number;
  failed: number;
  running: number;
  /** Clients issue nothing more; those waiting for an answer finish it. */
  stop(): void;
}

/**
 * Closed-loop clients inside the simulator (for suites and `heal recover --runtime sim`): each client issues its next operation when the
 * previous one answers (or fails), with seeded random keys, a write ratio and unique values.
 */
export function startSimLoad(
  cluster: SimCluster,
  seed: number,
  options: WorkloadOptions,
): WorkloadProgress {
  let stopped = false;
  const progress: WorkloadProgress = {
    completed: 0,
    failed: 0,
    running: cluster.clients.length,
    stop: () => {
      stopped = true;
    },
  };
  const pad = options.valueBytes ?? 0;
  const scopeRatio = options.scopeRatio ?? 0;
  if (!(scopeRatio >= 0 && scopeRatio < 1))
    throw new RangeError(`scopeRatio must be in [0, 1), got ${scopeRatio}`);
  // Unique values, padded to the asked size (uniqueness keeps the checker's work exact).
  const valueOf = (unique: string): string =>
    unique.length >= pad ? unique : unique.padEnd(pad, '.');
  cluster.clients.forEach((client, index) => {
    const prng = new Prng(seed * 1000 + index);
    let issued = 0;
    const next = (): void => {
      if (stopped || issued >= options.opsPerClient) {
        progress.running--;
        return;
      }
      issued++;
      const key = datasetKey(prng.int(options.keys));
      const replica = options.randomReplica ? prng.int(cluster.replicas) : undefined;
      const done = (err: unknown): void => {
        if (err) progress.failed++;
        else progress.completed++;
        if (options.thinkMs > 0) cluster.sim.after(prng.range(0, options.thinkMs), 'think', next);
        else next();
      };
      if (scopeRatio > 0 && prng.chance(scopeRatio)) {
        client.submitPersistScope(done, replica);
        return;
      }
      const op = prng.chance(options.writeRatio)
        ? { kind: 'put' as const, key, value: valueOf(`c${index}-${issued}`), replica }
        : { kind: 'get' as const, key, replica };
      client.submit(op, done);
    };
    cluster.sim.after(prng.range(0, 1), `client ${index} starts`, next);
  });
  return progress;
}
