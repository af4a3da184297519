import type { ActorId } from '@heal/actors/core';
import type { LinkDescriptor } from '@heal/actors/rings';
import {
  ThreadRuntime,
  type ActorModuleRef,
  type HostStats,
  type WorkerStart,
} from '@heal/actors/threads';
import { KvClient } from '../client/kv-client.js';
import type { RecoveryReport } from '../protocol/recovery-strategy.js';
import type { KvWire, ReplicaConfig } from '../protocol/replica.js';
import { prepareDatasetImage } from '../protocol/replica-module.js';
import { THREAD_TIMING } from '../protocol/timing.js';
import { replicaConfigOf, type ClusterReplicaOptions } from './cluster-config.js';

export interface ThreadClusterOptions extends ClusterReplicaOptions {
  replicas: number;
  /** Client endpoints (ids replicas..replicas+clients-1), used in this thread or in piscina tasks. */
  clients: number;
  /** The replica actor module (default: kv's, with the built-in copy recovery). */
  module?: ActorModuleRef;
  ringBytes?: number;
  clientTimeoutMs?: number;
  seed?: number;
  /** Boot a replica's next worker while it is down (default true; see ThreadRuntimeOptions). */
  spareWorkers?: boolean;
}

/** The report a replica's stats carry once it recovered (keys `recovery.*`), or undefined. */
export function unflattenReport(
  strategy: string,
  stats: Record<string, number>,
): RecoveryReport | undefined {
  const recoveryMs = stats['recovery.recoveryMs'];
  if (recoveryMs === undefined) return undefined;
  const phasesMs: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (const [k, v] of Object.entries(stats)) {
    if (k.startsWith('recovery.phase.')) phasesMs[k.slice('recovery.phase.'.length)] = v;
    if (k.startsWith('recovery.count.')) counts[k.slice('recovery.count.'.length)] = v;
  }
  const cpuMs = stats['recovery.cpuMs'];
  return {
    strategy,
    incarnation: stats['recovery.incarnation'] ?? 0,
    startedMs: stats['recovery.startedMs'] ?? 0,
    recoveryMs,
    phasesMs,
    bytesMoved: stats['recovery.bytesMoved'] ?? 0,
    entriesReceived: stats['recovery.entriesReceived'] ?? 0,
    entriesApplied: stats['recovery.entriesApplied'] ?? 0,
    counts,
    ...(cpuMs === undefined ? {} : { cpuMs }),
  };
}

/** kv's own replica module, for worker threads to import. */
export const KV_REPLICA_MODULE: ActorModuleRef = {
  url: new URL('../replica-module.js', import.meta.url).href,
};

/**
 * A cluster of replicas, one worker thread each, on the ring mesh. Clients attach in this
 * thread (`client`) or elsewhere (`clientLinks`, e.g. in a piscina load generator).
 */
export class ThreadCluster {
  readonly runtime: ThreadRuntime<KvWire, ReplicaConfig>;
  readonly config: ReplicaConfig;
  readonly clientTimeoutMs: number;

  private constructor(
    runtime: ThreadRuntime<KvWire, ReplicaConfig>,
    config: ReplicaConfig,
    clientTimeoutMs: number,
  ) {
    this.runtime = runtime;
    this.config = config;
    this.clientTimeoutMs = clientTimeoutMs;
  }

  static async start(options: ThreadClusterOptions): Promise<ThreadCluster> {
    // Threads crash processes, never the power: pmem needs no durable image to crash to.
    const config: ReplicaConfig = {
      ...replicaConfigOf(options.replicas, THREAD_TIMING, options),
      pmemCrashSimulation: false,
    };
    prepareDatasetImage(config);
    const runtime = await ThreadRuntime.start<KvWire, ReplicaConfig>({
      module: options.module ?? KV_REPLICA_MODULE,
      actors: options.replicas,
      endpoints: options.clients,
      config,
      ...(options.ringBytes !== undefined ? { ringBytes: options.ringBytes } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.spareWorkers !== undefined ? { spareWorkers: options.spareWorkers } : {}),
    });
    return new ThreadCluster(
      runtime,
      config,
      options.clientTimeoutMs ?? 4 * config.timing.suspicionMs,
    );
  }

  get replicas(): number {
    return this.config.replicas;
  }

  /** A KvClient in this thread on client endpoint `index` (0-based). */
  client(index: number, replica?: ActorId): KvClient {
    const endpoint = this.runtime.endpoint(this.replicas + index);
    return new KvClient(endpoint, {
      replicas: this.replicas,
      timeoutMs: this.clientTimeoutMs,
      ...(replica !== undefined ? { replica } : {}),
    });
  }

  /** The rings of client endpoint `index`, to attach it in another thread. */
  clientLinks(index: number): LinkDescriptor {
    return this.runtime.endpointLinks(this.replicas + index);
  }

  crash(id: ActorId): Promise<void> {
    return this.runtime.crash(id);
  }

  /**
   * Restarts replica `id` from what its medium kept; it recovers with the cluster's strategy
   * (`options.strategy`, if given, must name it: every replica runs the same one). Resolves
   * once the replica's `start` ran in its new worker (its medium opened and loaded), with the
   * times of each step of that worker's start.
   */
  restart(id: ActorId, options: { strategy?: string } = {}): Promise<WorkerStart> {
    if (options.strategy !== undefined && options.strategy !== this.config.strategy) {
      throw new RangeError(
        `strategy ${options.strategy}: this cluster runs ${this.config.strategy} (every replica runs the same strategy; start a cluster with strategy ${options.strategy})`,
      );
    }
    return this.runtime.restart(id);
  }

  /**
   * Every replica's worker stops at once (in threads a process crash: the media keep what was
   * written to their files, `pmem` lines stored but not fenced included).
   */
  async powerFailure(): Promise<void> {
    await Promise.all(Array.from({ length: this.replicas }, (_, id) => this.runtime.crash(id)));
  }

  /**
   * Restarts every replica from its medium after all of them went down: they form a cold-start
   * view of all replicas and reconcile before serving (`ready` resolves once they serve).
   */
  async restartAll(options: { strategy?: string } = {}): Promise<void> {
    for (let id = 0; id < this.replicas; id++) await this.restart(id, options);
  }

  /**
   * Resolves with replica `id`'s recovery report once it serves reads again (after `restart`).
   * It polls the replica's status, not its stats: a poll runs on the recovering replica's thread.
   */
  async recover(id: ActorId, limitMs = 60_000, pollMs = 5): Promise<RecoveryReport> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const status = await this.runtime.status(id);
      if (status['recovering'] === 0 && status['admitted'] === 1) {
        const { actor } = await this.runtime.stats(id);
        const report = unflattenReport(this.config.strategy, actor);
        if (report) return report;
      }
      if (Date.now() > deadline) {
        const { actor } = await this.runtime.stats(id);
        throw new Error(
          `replica ${id} did not recover within ${limitMs} ms: ${JSON.stringify(actor)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  stats(id: ActorId): Promise<HostStats> {
    return this.runtime.stats(id);
  }

  /** Resolves when every replica is a full member of one view and holds a read lease. */
  async ready(limitMs = 10_000): Promise<void> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const stats = await Promise.all(
        Array.from({ length: this.replicas }, (_, id) => this.runtime.stats(id)),
      );
      const epochs = new Set(stats.map((s) => s.actor['epoch']));
      if (
        epochs.size === 1 &&
        stats.every((s) => s.actor['holdsLease'] === 1 && s.actor['recovering'] === 0)
      )
        return;
      if (Date.now() > deadline) {
        throw new Error(
          `cluster not ready after ${limitMs} ms: ${JSON.stringify(stats.map((s) => s.actor))}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  shutdown(): Promise<void> {
    return this.runtime.shutdown();
  }
}
