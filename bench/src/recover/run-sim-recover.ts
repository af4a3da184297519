import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { healReplicaModule } from '@heal/heal/replica-module';
import { checkHistory, formatReport } from '@heal/kv/checker';
import type { PersistencyModel, ReplicaConfig } from '@heal/kv/replica';
import { SimCluster, startSimLoad } from '@heal/kv/sim';
import type { RecoveryRowFields } from '../report/recovery-row.js';

export interface RecoverConfig {
  runtime: 'sim' | 'threads';
  strategies: string[];
  replicas: number;
  keys: number;
  valueBytes: number;
  outageMs: number;
  model: PersistencyModel;
  medium: ReplicaConfig['medium'];
  seed: number;
  clients: number;
  writeRatio: number;
  warmupMs: number;
  tailMs: number;
  /** The replica that fails. */
  victim: number;
  /** Byte budget of every strategy's recovery buffer (the same for all). */
  bufferBytes: number;
  dataDir: string;
  /** Check the recorded history for linearizability (sim). */
  check: boolean;
}

/** One crash-and-recover run (the field names of recovery-row.ts). */
export interface RecoverRow extends RecoveryRowFields {
  runtime: 'sim';
  operations: number;
  linearizable: boolean | null;
  replicasEqual: boolean;
}

/** Virtual ms the recovering replica gets before the run is declared failed. */
const RECOVERY_LIMIT_MS = 600_000;

/**
 * `heal recover --runtime sim`: per strategy, the same seeded cluster, dataset and load in the
 * deterministic simulator; crash `victim` after the warm-up, keep it down for the outage,
 * restart it and run until it serves reads, then a tail; stop the load, settle, and check.
 */
export function runSimRecover(config: RecoverConfig, progress: (line: string) => void): RecoverRow[] {
  mkdirSync(config.dataDir, { recursive: true });
  return config.strategies.map((strategy) => {
    const dir = mkdtempSync(join(config.dataDir, `heal-recover-${strategy}-`));
    try {
      return runOne(config, strategy, dir, progress);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

function runOne(config: RecoverConfig, strategy: string, dir: string, progress: (line: string) => void): RecoverRow {
  const started = performance.now();
  const say = (what: string): void => progress(`${strategy}: ${what} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  say(`loading ${config.keys} keys into ${config.replicas} replicas (${config.medium})`);
  const cluster = new SimCluster({
    seed: config.seed, replicas: config.replicas, clients: config.clients, module: healReplicaModule, strategy,
    medium: config.medium, model: config.model, dataDir: dir,
    pmemCapacity: config.keys + 4096, pmemValueBytesMax: Math.max(64, config.valueBytes), pmemLatency: false,
    dataset: { keys: config.keys, valueSizes: { bytes: [config.valueBytes], weights: [1] } },
    strategyOptions: { bufferBytes: config.bufferBytes },
    history: config.check,
  });
  try {
    const load = startSimLoad(cluster, config.seed, {
      keys: config.keys, writeRatio: config.writeRatio, opsPerClient: Infinity, thinkMs: 0, randomReplica: true,
      valueBytes: config.valueBytes,
    });
    cluster.sim.runFor(config.warmupMs);
    say(`crash replica ${config.victim} at t=${cluster.sim.now.toFixed(0)} ms`);
    cluster.crash(config.victim);
    cluster.sim.runFor(config.outageMs);
    say(`restart replica ${config.victim} at t=${cluster.sim.now.toFixed(0)} ms`);
    cluster.restart(config.victim, { strategy });
    const outcome = cluster.recover(config.victim, RECOVERY_LIMIT_MS);
    say(`replica ${config.victim} serves reads after ${outcome.recoveryMs.toFixed(1)} ms`);
    cluster.sim.runFor(config.tailMs);
    load.stop();
    if (!cluster.sim.runUntil(() => load.running === 0, 60_000)) throw new Error(`${strategy}: clients did not finish`);
    if (!cluster.settle(60_000)) throw new Error(`${strategy}: replicas did not settle`);
    const verdict = cluster.verify();
    if (!verdict.equal) throw new Error(`${strategy}: replicas differ after recovery:\n${verdict.differences.slice(0, 10).join('\n')}`);
    let linearizable: boolean | null = null;
    if (cluster.history) {
      say(`checking ${cluster.history.size} operations`);
      const result = checkHistory(cluster.history.history());
      if (!result.ok) throw new Error(`${strategy}: history is not linearizable (seed ${config.seed}):\n${formatReport(result)}`);
      linearizable = true;
    }
    return {
      strategy, runtime: 'sim', recoveryMs: round(outcome.recoveryMs), phasesMs: roundAll(outcome.phasesMs),
      missedKeys: outcome.missedKeys, missedWrites: outcome.missedWrites, missedBytes: outcome.missedBytes,
      bytesMoved: outcome.bytesMoved, entriesReceived: outcome.entriesReceived, entriesApplied: outcome.entriesApplied,
      counts: outcome.counts, operations: load.completed, linearizable, replicasEqual: true,
    };
  } finally {
    for (let id = 0; id < config.replicas; id++) cluster.sim.storage(id).close();
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function roundAll(phases: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, round(v)]));
}
