import { Prng } from '@heal/actors';
import type { SimCluster } from '../../src/index.js';

export interface WorkloadOptions {
  keys: number;
  writeRatio: number;
  opsPerClient: number;
  /** Virtual ms between a client's answer and its next call (0: at once). */
  thinkMs: number;
  /** Ask a random replica per operation instead of the client's own. */
  randomReplica?: boolean;
}

export interface WorkloadProgress {
  completed: number;
  failed: number;
  running: number;
}

/**
 * Closed-loop clients inside the simulator: each client issues its next operation when the
 * previous one answers (or fails), with seeded random keys, a write ratio and unique values.
 */
export function startWorkload(cluster: SimCluster, seed: number, options: WorkloadOptions): WorkloadProgress {
  const progress: WorkloadProgress = { completed: 0, failed: 0, running: cluster.clients.length };
  cluster.clients.forEach((client, index) => {
    const prng = new Prng(seed * 1000 + index);
    let issued = 0;
    const next = (): void => {
      if (issued >= options.opsPerClient) {
        progress.running--;
        return;
      }
      issued++;
      const key = `k${prng.int(options.keys)}`;
      const replica = options.randomReplica ? prng.int(cluster.replicas) : undefined;
      const op = prng.chance(options.writeRatio)
        ? { kind: 'put' as const, key, value: `c${index}-${issued}`, replica }
        : { kind: 'get' as const, key, replica };
      client.submit(op, (err) => {
        if (err) progress.failed++;
        else progress.completed++;
        if (options.thinkMs > 0) cluster.sim.after(prng.range(0, options.thinkMs), 'think', next);
        else next();
      });
    };
    cluster.sim.after(prng.range(0, 1), `client ${index} starts`, next);
  });
  return progress;
}
