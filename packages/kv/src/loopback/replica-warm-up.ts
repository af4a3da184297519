import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { KvWire, ReplicaConfig } from '../protocol/replica.js';
import type { ReplicaModule } from '../protocol/replica-module.js';
import { LoopbackCluster } from './loopback-cluster.js';

/** Replicas of the scratch cluster: enough for a Buddy, a joiner and a third voter. */
const WARM_UP_REPLICAS = 3;
/** Keys the scratch cluster holds and writes. */
const WARM_UP_KEYS = 256;
/** Keys written while the scratch replica is down, each once: what each recovery installs. */
const OUTAGE_WRITES = 256;
/**
 * Crash-and-recover rounds: V8 optimizes a function after enough calls, not at the first. With
 * one round (256 records installed and persisted) the real recovery still ran half-compiled
 * code: a recovery of ~340 records spent 18-25 ms persisting them on the bar's load, 8-11 ms
 * after three rounds (a pmem write and sync costs 56 us a record cold, 10 us warm).
 */
const WARM_UP_RECOVERIES = 3;
/** Operations per virtual millisecond of load. */
const OPS_PER_MS = 8;
/** Virtual time of load before the crash, during the outage, and after the recovery. */
const LOAD_MS = 10;
/** Virtual time the scratch cluster has to form its view, and the restarted replica to recover. */
const SETTLE_MS = 3_000;
/**
 * Wall-clock bound: a warm-up never holds a worker longer than this. It takes about 540 ms of
 * wall-clock time on an idle machine here, about 1 s as a spare on a loaded one (it gets a
 * fraction of a core). An assignment ends it sooner (`interrupted`).
 */
export const WARM_UP_BUDGET_MS = 2_000;

export interface WarmUpReport {
  /** Wall-clock time the warm-up took. */
  ms: number;
  /** Messages the scratch replicas handled. */
  handled: number;
  /** Whether the crashed scratch replica recovered and served again within SETTLE_MS. */
  recovered: boolean;
  /** Records its recoveries installed (the recovery path's functions ran that many times). */
  recoveredEntries: number;
  /** Whether the worker's assignment ended it early. */
  interrupted: boolean;
}

/**
 * Runs the replica's own code on a scratch cluster of its configuration (strategy, model and
 * medium; a small dataset on a temporary directory): load, a crash, load during the outage, a
 * restart and its recovery, load again. V8 compiles a function when it first runs and optimizes
 * what ran often, so a worker that did this first answers its first real messages at full speed:
 * a spare worker does it while its replica is down (not on the restart's path), instead of
 * compiling the recovery's code paths during the recovery. Nothing of it outlives the call.
 * `budgetMs` bounds its wall-clock time (tests pass Infinity: a loaded machine must not fail them);
 * it stops early once `interrupted()` (the worker's actor is waiting).
 */
export function warmUpReplica(
  module: ReplicaModule,
  config: ReplicaConfig,
  budgetMs = WARM_UP_BUDGET_MS,
  interrupted: () => boolean = () => false,
): WarmUpReport {
  const startMs = performance.now();
  const fileBacked = config.medium === 'wal' || config.medium === 'pmem';
  const dataDir = fileBacked ? mkdtempSync(join(tmpdir(), 'heal-warm-up-')) : undefined;
  const scratch: ReplicaConfig = {
    ...config,
    replicas: WARM_UP_REPLICAS,
    ...(dataDir !== undefined ? { dataDir } : {}),
    ...(config.dataset
      ? { dataset: { ...config.dataset, keys: Math.min(config.dataset.keys, WARM_UP_KEYS) } }
      : {}),
    ...(config.pmemCapacity !== undefined ? { pmemCapacity: 2 * WARM_UP_KEYS } : {}),
  };
  const value = 'v'.repeat(config.dataset?.valueSizes.bytes[0] ?? 100);
  let cluster: LoopbackCluster;
  try {
    cluster = new LoopbackCluster(module, scratch, 1);
  } catch (err) {
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  const outOfTime = (): boolean =>
    (stopped ||= interrupted()) || performance.now() - startMs > budgetMs;
  let reqId = 1;
  /** Sends one operation to an up replica: a put, or a get; every key in turn (7919 is prime). */
  const send = (put: boolean, i: number): boolean => {
    const to = (reqId + i) % WARM_UP_REPLICAS;
    if (!cluster.isUp(to)) return false;
    const key = `k${(reqId * 7919) % WARM_UP_KEYS}`;
    const header = { epoch: 0, sender: cluster.client };
    const msg = put
      ? { kind: 'put', ...header, reqId, key, value }
      : { kind: 'get', ...header, items: [{ reqId, key }] };
    cluster.send(to, msg as KvWire);
    reqId++;
    return true;
  };
  /** `ms` virtual ms of load, a third puts. */
  const load = (ms: number): void => {
    for (let t = 0; t < ms && !outOfTime(); t++) {
      for (let i = 0; i < OPS_PER_MS; i++) send(i % 3 === 0, i);
      cluster.deliverAll();
      cluster.advance(1);
    }
  };
  /** Puts `count` consecutive keys (distinct while count <= WARM_UP_KEYS), OPS_PER_MS a ms. */
  const write = (count: number): void => {
    let sent = 0;
    while (sent < count && !outOfTime()) {
      for (let i = 0; i < OPS_PER_MS && sent < count; i++) if (send(true, i)) sent++;
      cluster.deliverAll();
      cluster.advance(1);
    }
  };
  const settle = (): boolean => {
    for (let t = 0; t < SETTLE_MS && !outOfTime(); t += 5) {
      if (cluster.serving()) return true;
      cluster.advance(5);
    }
    return cluster.serving();
  };
  let recovered = false;
  let recoveredEntries = 0;
  try {
    settle();
    load(LOAD_MS);
    const victim = WARM_UP_REPLICAS - 1;
    for (let round = 0; round < WARM_UP_RECOVERIES && !outOfTime(); round++) {
      cluster.crash(victim);
      load(LOAD_MS);
      write(OUTAGE_WRITES);
      cluster.restart(victim);
      load(LOAD_MS);
      recovered = settle();
      recoveredEntries += cluster.recoveryReport(victim)?.entriesApplied ?? 0;
    }
    load(LOAD_MS);
  } finally {
    cluster.close();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  }
  return {
    ms: performance.now() - startMs,
    handled: cluster.handled,
    recovered,
    recoveredEntries,
    interrupted: stopped,
  };
}
