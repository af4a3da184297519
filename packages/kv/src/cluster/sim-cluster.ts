import { Simulation, type ActorId, type LinkModel } from '@heal/actors';
import { HistoryRecorder } from '../checker/recorder.js';
import { KvClient } from '../client/kv-client.js';
import type { Replica, KvWire, ReplicaConfig } from '../protocol/replica.js';
import { kvReplicaModule, type ReplicaModule } from '../protocol/replica-module.js';
import { SIM_TIMING, type Timing } from '../protocol/timing.js';
import type { KvStorage } from '../storage/kv-storage.js';
import { verifyReplicas, type VerifyResult } from './verify.js';

export interface SimClusterOptions {
  seed: number;
  replicas: number;
  clients: number;
  module?: ReplicaModule;
  strategy?: string;
  medium?: ReplicaConfig['medium'];
  /** Directory of the file-backed media (`wal`, `pmem`); see ReplicaConfig.dataDir. */
  dataDir?: string;
  /** Persistency model (default 'synch'). */
  model?: ReplicaConfig['model'];
  /** See ReplicaConfig.pmemCapacity. */
  pmemCapacity?: number;
  timing?: Partial<Timing>;
  network?: Partial<LinkModel>;
  faults?: ReplicaConfig['faults'];
  clientTimeoutMs?: number;
  /** Record every client operation for the linearizability checker (default true). */
  history?: boolean;
}

/**
 * A cluster of replicas and clients in the deterministic simulator. Clients share one history
 * recorder whose clock is virtual time in nanoseconds, made strictly increasing so that the
 * order in which the simulator ran two events is their real-time order.
 */
export class SimCluster {
  readonly sim: Simulation<KvWire, KvStorage, ReplicaConfig>;
  readonly clients: KvClient[];
  readonly history: HistoryRecorder | undefined;
  readonly replicas: number;
  #lastTick = 0;

  constructor(options: SimClusterOptions) {
    const { seed, replicas, clients } = options;
    const config: ReplicaConfig = {
      replicas,
      timing: { ...SIM_TIMING, ...options.timing },
      strategy: options.strategy ?? 'copy',
      medium: options.medium ?? 'volatile',
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      ...(options.model !== undefined ? { model: options.model } : {}),
      ...(options.pmemCapacity !== undefined ? { pmemCapacity: options.pmemCapacity } : {}),
      ...(options.faults ? { faults: options.faults } : {}),
    };
    this.replicas = replicas;
    this.sim = new Simulation({
      seed,
      module: options.module ?? kvReplicaModule,
      actors: replicas,
      endpoints: clients,
      config,
      ...(options.network ? { network: options.network } : {}),
    });
    this.history = options.history === false ? undefined : new HistoryRecorder(() => this.#historyTick());
    const timeoutMs = options.clientTimeoutMs ?? 5 * config.timing.suspicionMs;
    this.clients = Array.from({ length: clients }, (_, i) => {
      const id = replicas + i;
      return new KvClient(this.sim.endpoint(id), {
        replicas,
        timeoutMs,
        ...(this.history ? { history: this.history } : {}),
      });
    });
  }

  #historyTick(): number {
    const t = Math.max(this.#lastTick + 1, Math.round(this.sim.now * 1e6));
    this.#lastTick = t;
    return t;
  }

  replica(id: ActorId): Replica | undefined {
    return this.sim.actor(id) as Replica | undefined;
  }

  liveReplicas(): Replica[] {
    const out: Replica[] = [];
    for (let id = 0; id < this.replicas; id++) {
      const r = this.replica(id);
      if (r) out.push(r);
    }
    return out;
  }

  crash(id: ActorId): void {
    this.sim.crash(id);
  }

  restart(id: ActorId): void {
    this.sim.restart(id);
  }

  /**
   * Runs until every live replica is a full member of one view, holds a lease, and has no
   * pending write or Invalid key; false if that does not happen within `limitMs`.
   */
  settle(limitMs: number): boolean {
    return this.sim.runUntil(() => this.quiescent(), limitMs);
  }

  quiescent(): boolean {
    const live = this.liveReplicas();
    const epoch = live[0]?.view.epoch;
    return live.every((r) => r.full && r.view.epoch === epoch && r.view.members.length === live.length &&
      r.pendingWrites === 0 && r.invalidKeys === 0 && r.holdsLease());
  }

  /** Compares the records of every live replica (call after `settle`). */
  verify(): VerifyResult {
    return verifyReplicas(this.liveReplicas().map((r) => ({ id: r.self, records: r.records })));
  }
}
