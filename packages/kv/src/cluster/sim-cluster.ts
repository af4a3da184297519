import assert from 'node:assert/strict';
import { utf8Text, type ActorId } from '@heal/actors/core';
import {
  Simulation,
  type CostModel,
  type CpuOptions,
  type LinkModel,
  type NicModel,
} from '@heal/actors/sim';
import { HistoryRecorder } from '../checker/recorder.js';
import { KvClient } from '../client/kv-client.js';
import type { Replica, KvWire, ReplicaConfig } from '../protocol/replica.js';
import type { ReplicaModule } from '../protocol/replica-module.js';
import { kvReplicaModule } from '../replica-module.js';
import { SIM_TIMING } from '../protocol/timing.js';
import { replicaConfigOf, type ClusterReplicaOptions } from './cluster-config.js';
import type { RecoveryReport } from '../protocol/recovery-strategy.js';
import { compareTs } from '../protocol/timestamp.js';
import { datasetIndex, datasetValue } from '../storage/dataset.js';
import { recordWireBytes, type KeyRecord } from '../storage/key-record.js';
import type { KvStorage } from '../storage/kv-storage.js';
import { verifyReplicas, type VerifyResult } from './verify.js';
import { ChargedStorage } from './charged-storage.js';
import { profileCostModel, type ChargeSwitch, type CostProfile } from './cost-profile.js';

/**
 * The simulator's CPU model for a cluster: hosts and cores as CpuOptions says (default: every
 * replica and client on a core of its own), and what work costs: a CostModel (`costs`), or a
 * cost profile (`profile`), which also charges every storage operation (ChargedStorage).
 */
export type SimCpuOptions = Omit<CpuOptions, 'costs'> & {
  costs?: CostModel;
  profile?: CostProfile;
};

/** A recovery as `SimCluster.recover` reports it. */
export interface RecoveryOutcome extends RecoveryReport {
  readonly missedKeys: number;
  readonly missedWrites: number;
  readonly missedBytes: number;
}

interface Outage {
  writesBefore: number;
  missed: { missedKeys: number; missedBytes: number; missedWrites: number } | undefined;
}

export interface SimClusterOptions extends ClusterReplicaOptions {
  seed: number;
  replicas: number;
  clients: number;
  module?: ReplicaModule;
  network?: Partial<LinkModel>;
  /** The simulator's CPU model (@heal/actors cpu.ts); off by default (handlers take no time). */
  cpu?: SimCpuOptions;
  /** Wraps each replica's medium when it is created (a calibration times its operations). */
  wrapStorage?: (self: ActorId, storage: KvStorage, config: ReplicaConfig) => KvStorage;
  /** Every replica's and client's NIC (@heal/actors nic.ts); unlimited by default. */
  nic?: Partial<NicModel>;
  clientTimeoutMs?: number;
  /** Record every client operation for the linearizability checker (default true). */
  history?: boolean;
  /**
   * Whether a crash without an explicit `reset` resets its links (its peers learn of it, as on
   * threads) or is a power loss (only silence tells): asked at every such crash (default: never).
   */
  crashResets?: (id: ActorId) => boolean;
}

/**
 * A cluster of replicas and clients in the deterministic simulator. Clients share one history
 * recorder whose clock is virtual time in nanoseconds, made strictly increasing so that the
 * order in which the simulator ran two events is their real-time order.
 */
export class SimCluster {
  readonly sim: Simulation<KvWire, KvStorage, ReplicaConfig>;
  /** Replaced by `restartAll` (a history starts over at a cold start). */
  readonly clients: KvClient[];
  history: HistoryRecorder | undefined;
  readonly replicas: number;
  readonly config: ReplicaConfig;
  #lastTick = 0;
  readonly #outages = new Map<ActorId, Outage>();
  readonly #crashResets: ((id: ActorId) => boolean) | undefined;
  /**
   * Whether the CPU model charges anything: off while the cluster is set up (its replicas'
   * first starts write the dataset), on from the end of the constructor; a driver may pause it.
   */
  readonly charging: ChargeSwitch = { on: false };

  constructor(options: SimClusterOptions) {
    const { seed, replicas, clients } = options;
    // The media live as long as this process: large pmem tables share their images' pages.
    const config = { ...replicaConfigOf(replicas, SIM_TIMING, options), pmemInMemory: true };
    this.config = config;
    this.replicas = replicas;
    this.#crashResets = options.crashResets;
    const cpu = options.cpu && this.#cpuOptions(options.cpu, replicas);
    this.sim = new Simulation({
      seed,
      module: this.#module(options.module ?? kvReplicaModule, options),
      actors: replicas,
      endpoints: clients,
      config,
      ...(options.network ? { network: options.network } : {}),
      ...(cpu ? { cpu } : {}),
      ...(options.nic ? { nic: options.nic } : {}),
    });
    this.charging.on = true;
    const dataset = options.dataset;
    const initial =
      dataset &&
      ((key: string): string | undefined => {
        const index = datasetIndex(dataset, key);
        return index === undefined ? undefined : utf8Text(datasetValue(dataset, index));
      });
    this.history =
      options.history === false
        ? undefined
        : new HistoryRecorder(() => this.#historyTick(), initial);
    this.#clientTimeoutMs = options.clientTimeoutMs ?? 5 * config.timing.suspicionMs;
    this.clients = Array.from({ length: clients }, (_, i) => this.#client(i));
  }

  readonly #clientTimeoutMs: number;

  #cpuOptions(cpu: SimCpuOptions, replicas: number): CpuOptions {
    const { costs, profile, ...placement } = cpu;
    if ((costs === undefined) === (profile === undefined))
      throw new RangeError(
        'cpu: give exactly one of costs (a CostModel) and profile (a cost profile)',
      );
    return {
      ...placement,
      costs: costs ?? profileCostModel(profile as CostProfile, replicas, this.charging),
    };
  }

  /** The module with each medium wrapped: by `wrapStorage`, then charged by the cost profile. */
  #module(module: ReplicaModule, options: SimClusterOptions): ReplicaModule {
    const profile = options.cpu?.profile;
    const wrap = options.wrapStorage;
    const create = module.createStorage?.bind(module);
    if ((!profile && !wrap) || !create) return module;
    return {
      ...module,
      createStorage: (self, config) => {
        let storage = create(self, config);
        if (wrap) storage = wrap(self, storage, config);
        if (!profile) return storage;
        const costs = profile.media[config.medium];
        if (!costs)
          throw new RangeError(
            `cost profile ${profile.name} has no costs for medium ${config.medium} (it has ${Object.keys(profile.media).join(', ')})`,
          );
        const perStrategy = profile.replica.startRecordNs;
        const startRecordNs =
          perStrategy[config.strategy] ?? Math.max(0, ...Object.values(perStrategy));
        return new ChargedStorage(
          storage,
          costs,
          startRecordNs,
          (ms) => this.sim.charge(self, ms),
          this.charging,
        );
      },
    };
  }

  #client(index: number): KvClient {
    return new KvClient(this.sim.endpoint(this.replicas + index), {
      replicas: this.replicas,
      timeoutMs: this.#clientTimeoutMs,
      ...(this.history ? { history: this.history } : {}),
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

  /**
   * Crashes replica `id`; what it misses until its restart is measured for its recovery report.
   * `reset`: its peers learn of the crash (see Simulation.crash); otherwise only its silence tells.
   */
  crash(id: ActorId, options: { reset?: boolean } = {}): void {
    this.sim.crash(id, { reset: options.reset ?? this.#crashResets?.(id) ?? false });
    this.#outages.set(id, { writesBefore: this.#writesStarted(), missed: undefined });
  }

  /**
   * Restarts replica `id` from what its medium kept; it recovers with the cluster's strategy
   * (`options.strategy`, if given, must name it: every replica runs the same one). Measures
   * what it missed during the outage, the same way for every strategy: keys a full replica
   * holds newer than what it loaded, and the writes coordinated since its crash.
   */
  restart(id: ActorId, options: { strategy?: string } = {}): void {
    this.#checkStrategy(options.strategy);
    this.sim.restart(id);
    const outage = this.#outages.get(id);
    const restarted = this.replica(id);
    const full = this.liveReplicas().find((r) => r.full && r.self !== id);
    if (!outage || !restarted || !full) return;
    let missedKeys = 0;
    let missedBytes = 0;
    // What it loaded is what its medium kept; asked of the medium, not of the replica's
    // records, where a lookup would hold the record (see HeldRecords) and change the run.
    const kept = this.sim.storage(id);
    for (const [key, record] of full.records) {
      const had = kept.get(key);
      if (had === undefined || compareTs(record.ts, had.ts) > 0) {
        missedKeys++;
        missedBytes += recordWireBytes(record);
      }
    }
    outage.missed = {
      missedKeys,
      missedBytes,
      missedWrites: this.#writesStarted() - outage.writesBefore,
    };
  }

  #checkStrategy(strategy: string | undefined): void {
    if (strategy !== undefined && strategy !== this.config.strategy) {
      throw new RangeError(
        `strategy ${strategy}: this cluster runs ${this.config.strategy} (every replica runs the same strategy; start a cluster with strategy ${strategy})`,
      );
    }
  }

  /** Runs until replica `id` (restarted) serves reads, and reports its recovery. */
  recover(id: ActorId, limitMs: number): RecoveryOutcome {
    const done = this.sim.runUntil(() => this.replica(id)?.full === true, limitMs);
    if (!done)
      throw new Error(`replica ${id} did not recover within ${limitMs} ms (t=${this.sim.now} ms)`);
    const report = this.replica(id)?.recoveryReport();
    if (!report)
      throw new Error(
        `replica ${id} serves reads but its strategy ${this.config.strategy} reports no recovery`,
      );
    const missed = this.#outages.get(id)?.missed ?? {
      missedKeys: 0,
      missedBytes: 0,
      missedWrites: 0,
    };
    this.#outages.delete(id);
    return { ...report, ...missed };
  }

  /**
   * A power failure of every live replica: each loses what its medium does not keep (the
   * simulator's crash: unfenced pmem lines, a torn wal tail; a volatile medium keeps nothing).
   */
  powerFailure(): void {
    for (let id = 0; id < this.replicas; id++) {
      if (this.sim.isUp(id)) this.sim.crash(id);
      this.#outages.delete(id);
    }
  }

  /**
   * What the cluster restarts from after every replica went down: per key, the record of the
   * highest ts any replica's medium kept (a cold start reconciles every replica to it).
   */
  keptState(): Map<string, KeyRecord> {
    const kept = new Map<string, KeyRecord>();
    for (let id = 0; id < this.replicas; id++) {
      assert(
        !this.sim.isUp(id),
        `replica ${id} is up: only the media of replicas that are down are stable`,
      );
      for (const record of this.sim.storage(id).records()) {
        const have = kept.get(record.key);
        if (!have || compareTs(record.ts, have.ts) > 0) kept.set(record.key, record);
      }
    }
    return kept;
  }

  /**
   * Restarts every replica from its medium after all of them went down (`powerFailure`): they
   * form a cold-start view of all replicas and reconcile (membership.ts, reconciliation.ts);
   * `coldStart` runs until they serve. Call it once messages sent before the failure are gone
   * (power comes back later). The history starts over: the clients are closed (what they had
   * in flight stays pending in the old history) and replaced by new ones on the same endpoints,
   * recording into a new history whose initial state is `keptState()`, which this returns.
   */
  restartAll(options: { strategy?: string } = {}): Map<string, KeyRecord> {
    this.#checkStrategy(options.strategy);
    const kept = this.keptState();
    for (const client of this.clients) client.close();
    for (let id = 0; id < this.replicas; id++) this.sim.restart(id);
    if (this.history) {
      this.history = new HistoryRecorder(
        () => this.#historyTick(),
        (key) => {
          const record = kept.get(key);
          return record && utf8Text(record.value);
        },
      );
    }
    for (let i = 0; i < this.clients.length; i++) this.clients[i] = this.#client(i);
    return kept;
  }

  /** Runs until every replica serves reads after `restartAll`; returns the cold-start view's epoch. */
  coldStart(limitMs: number): number {
    const serving = (): boolean =>
      this.liveReplicas().length === this.replicas && this.liveReplicas().every((r) => r.full);
    if (!this.sim.runUntil(serving, limitMs)) {
      const states = this.liveReplicas()
        .map((r) => `${r.self}: ${JSON.stringify(r.stats())}`)
        .join('\n');
      throw new Error(
        `the cluster did not cold-start within ${limitMs} ms (t=${this.sim.now} ms):\n${states}`,
      );
    }
    const epochs = new Set(this.liveReplicas().map((r) => r.view.epoch));
    assert.equal(
      epochs.size,
      1,
      `every replica serves in one view after a cold start, got epochs ${[...epochs].join(',')}`,
    );
    return [...epochs][0] as number;
  }

  #writesStarted(): number {
    let n = 0;
    for (const r of this.liveReplicas()) n += r.writesStarted;
    return n;
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
    return live.every(
      (r) =>
        r.full &&
        r.view.epoch === epoch &&
        r.view.members.length === live.length &&
        r.pendingWrites === 0 &&
        r.invalidKeys === 0 &&
        r.holdsLease(),
    );
  }

  /** Compares the records of every live replica (call after `settle`). */
  verify(): VerifyResult {
    return verifyReplicas(this.liveReplicas().map((r) => ({ id: r.self, records: r.records })));
  }
}
