import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActorId } from '@heal/actors';
import { Prng } from '@heal/base';
import {
  assertLinearizable,
  assertSettledAndEqual,
  PERSISTENCY_MODELS,
  SimCluster,
  startSimLoad,
  type PersistencyModel,
  type Replica,
  type RecoveryOutcome,
  type SimClusterOptions,
  type WorkloadProgress,
} from '@heal/kv';
import { buddyOf, healReplicaModule, type HealTestFault } from '../src/index.js';

/**
 * The recovery fault scenarios of ARCHITECTURE.md §7, run in the simulator on every persistency
 * model x medium and under network faults, each checked the same way: the history is
 * linearizable, and once settled every replica holds the same records (`verify`). A seed picks
 * the model x medium (in turn), the network (reliable, lossy, duplicating and reordering, or a
 * replica cut off for a while), the victims and the timing.
 *
 * While a scenario runs, a monitor checks after every virtual millisecond that no view names a
 * replica full (so eligible as Buddy, helper, keeper or donor) while it is still recovering.
 */

export const MEDIA = ['volatile', 'wal', 'pmem'] as const;
export const COMBOS: readonly { model: PersistencyModel; medium: (typeof MEDIA)[number] }[] =
  PERSISTENCY_MODELS.flatMap((model) => MEDIA.map((medium) => ({ model, medium })));
export const NETWORKS = ['reliable', 'lossy', 'duplicating', 'cut-off'] as const;
export type NetworkFault = (typeof NETWORKS)[number];

const REPLICAS = 5;
const CLIENTS = 3;
const DATASET = { keys: 60, valueSizes: { bytes: [16, 48], weights: [3, 1] } };
const RECOVER_LIMIT_MS = 20_000;
// The simulator checks logic; on tmpfs a file medium's syncs cost little.
const TMP = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

export interface ScenarioRun {
  readonly c: SimCluster;
  readonly seed: number;
  readonly prng: Prng;
  readonly model: PersistencyModel;
  readonly medium: string;
  readonly network: NetworkFault;
  /** Observations a scenario reports (e.g. that a crash hit mid-stream), summed by the suite. */
  readonly notes: Map<string, number>;
  note(name: string, n?: number): void;
  /** A full replica's view of the cluster now. */
  fullReplica(): Replica;
  recover(id: ActorId): RecoveryOutcome;
  /** Heals the network and cancels the cut-off still to come (a cold start needs every replica). */
  quietNetwork(): void;
  /**
   * quietNetwork, then runs until every live replica is a member of one view: before a second
   * failure, so a replica cut off and back counts as no third (a majority of the view must live).
   */
  rejoinAll(): void;
  /** Clients issue nothing more (before a whole-cluster restart closes them). */
  stopLoad(): void;
  /** Starts the load again after a whole-cluster restart (the clients were replaced). */
  restartLoad(): void;
}

export type Scenario = (run: ScenarioRun) => void;

/** Sums of scenario notes across seeds, for assertions that the fault hit where intended. */
export class ScenarioTally {
  readonly runs = { total: 0 };
  readonly counts = new Map<string, number>();

  add(notes: ReadonlyMap<string, number>): void {
    this.runs.total++;
    for (const [k, v] of notes) this.counts.set(k, (this.counts.get(k) ?? 0) + v);
  }

  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

function networkOf(seed: number): NetworkFault {
  return NETWORKS[Math.floor(seed / COMBOS.length) % NETWORKS.length] as NetworkFault;
}

/** The recovery-roles invariant: a view names no recovering replica full. */
function checkRoles(c: SimCluster): void {
  for (const r of c.liveReplicas()) {
    const view = r.view;
    if (r.admittedEpoch === undefined) continue;
    for (const m of view.members) {
      const other = c.replica(m.id);
      if (!other?.recovering || other.incarnation !== m.incarnation || view.shadows.includes(m.id))
        continue;
      const since = other.admittedEpoch;
      assert(
        since === undefined || since > view.epoch,
        `replica ${r.self}'s view e${view.epoch} names ${m.id} full while it recovers (admitted in e${since})`,
      );
    }
  }
}

/** A broken HEAL (heal-faults.ts), or a ShadowReplica that serves reads (a kv test switch). */
export type BrokenVariant = HealTestFault | 'shadow-serves-read';

/**
 * Runs `scenario` at `seed` with `strategy` (default heal) and checks the run. `fault` breaks
 * the recovery on purpose.
 */
export function runScenario(
  seed: number,
  scenario: Scenario,
  options: {
    strategy?: string;
    fault?: BrokenVariant;
    tally?: ScenarioTally;
    inspect?: (c: SimCluster) => void;
  } = {},
): void {
  const { model, medium } = COMBOS[seed % COMBOS.length] as (typeof COMBOS)[number];
  const network = networkOf(seed);
  const dir = mkdtempSync(join(TMP, 'heal-faults-'));
  // Half the crashes reset their links (the survivors learn at once, as on threads), half are
  // power losses found by silence; drawn apart from the scenario's own choices.
  const resets = new Prng(seed ^ 0x5e7);
  const clusterOptions: SimClusterOptions = {
    seed,
    replicas: REPLICAS,
    clients: CLIENTS,
    module: healReplicaModule,
    strategy: options.strategy ?? 'heal',
    model,
    medium,
    dataDir: dir,
    pmemCapacity: 256,
    pmemLatency: false,
    dataset: DATASET,
    crashResets: () => resets.int(2) === 0,
    ...(options.fault === 'shadow-serves-read' ? { faults: { shadowServesReads: true } } : {}),
    ...(options.fault && options.fault !== 'shadow-serves-read'
      ? { strategyOptions: { testFault: options.fault } }
      : {}),
    ...(network === 'lossy' ? { network: { lossRate: 0.02 } } : {}),
    ...(network === 'duplicating'
      ? { network: { duplicateRate: 0.05, distribution: 'exponential', meanMs: 0.3 } }
      : {}),
  };
  const c = new SimCluster(clusterOptions);
  options.inspect?.(c);
  const prng = new Prng(seed ^ 0x5eed);
  const notes = new Map<string, number>();
  const loadOptions = {
    keys: DATASET.keys,
    writeRatio: 0.5,
    opsPerClient: Infinity,
    thinkMs: 0.5,
    randomReplica: true,
    ...(model === 'scope' ? { scopeRatio: 0.1 } : {}),
  };
  let load: WorkloadProgress = startSimLoad(c, seed, loadOptions);
  let monitoring = true;
  const monitor = (): void => {
    if (!monitoring) return;
    checkRoles(c);
    c.sim.after(1, 'roles monitor', monitor);
  };
  c.sim.after(1, 'roles monitor', monitor);
  let cuts = network === 'cut-off';
  if (cuts) {
    // A replica cut off long enough to be suspected and removed, then back (it rejoins alive).
    const cut = prng.int(REPLICAS);
    c.sim.after(5 + prng.range(0, 60), `cut off ${cut}`, () => {
      if (cuts) c.sim.network.partition([[cut]]);
    });
    c.sim.after(5 + prng.range(70, 90), 'heal the cut', () => c.sim.network.heal());
  }
  const run: ScenarioRun = {
    c,
    seed,
    prng,
    model,
    medium,
    network,
    notes,
    note: (name, n = 1) => notes.set(name, (notes.get(name) ?? 0) + n),
    fullReplica: () => {
      const r = c.liveReplicas().find((x) => x.full);
      assert.ok(r, 'a full replica is up');
      return r;
    },
    recover: (id) => c.recover(id, RECOVER_LIMIT_MS),
    quietNetwork: () => {
      cuts = false;
      c.sim.network.heal();
    },
    rejoinAll: () => {
      run.quietNetwork();
      const together = (): boolean => {
        const live = c.liveReplicas();
        const epoch = live[0]?.view.epoch;
        return live.every(
          (r) =>
            r.admittedEpoch !== undefined &&
            r.view.epoch === epoch &&
            r.view.members.length === live.length,
        );
      };
      assert.ok(c.sim.runUntil(together, 2000), 'every live replica is a member of one view');
    },
    stopLoad: () => load.stop(),
    restartLoad: () => {
      load = startSimLoad(c, seed + 7919, loadOptions);
    },
  };
  try {
    c.sim.runFor(10 + prng.range(0, 10));
    scenario(run);
    c.sim.runFor(20);
    c.sim.network.heal();
    load.stop();
    assert.ok(
      c.sim.runUntil(() => load.running === 0, 10_000),
      'clients finish',
    );
    monitoring = false;
    assertLinearizable(c);
    assertSettledAndEqual(c, 10_000);
    options.tally?.add(notes);
  } catch (err) {
    const where = `${model} on ${medium}, ${network} network`;
    throw new Error(`${(err as Error).message}\n(${where})`, { cause: err });
  } finally {
    monitoring = false;
    for (let id = 0; id < REPLICAS; id++) c.sim.storage(id).close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A replica to fail, from the scenario's PRNG. */
export function pickVictim(run: ScenarioRun): ActorId {
  return run.prng.int(REPLICAS);
}

/** The Buddy a full replica's view names for `failed`. */
export function currentBuddy(run: ScenarioRun, failed: ActorId): ActorId | undefined {
  return buddyOf(run.fullReplica().view, failed);
}

function streamed(c: SimCluster): number {
  return c.liveReplicas().reduce((n, r) => n + (r.stats()['entriesStreamed'] ?? 0), 0);
}

/** The Buddy crashes while it streams to the joiner; the joiner then recovers by descent. */
export const buddyCrashMidStream: Scenario = (run) => {
  const { c, prng } = run;
  const victim = pickVictim(run);
  c.crash(victim);
  c.sim.runFor(20 + prng.range(0, 20));
  c.restart(victim);
  const before = streamed(c);
  const streaming = c.sim.runUntil(
    () => streamed(c) > before && c.replica(victim)?.recovering === true,
    200,
  );
  const joiner = c.replica(victim);
  const buddy = joiner && streaming ? buddyOf(joiner.view, victim) : undefined;
  if (buddy !== undefined && c.replica(buddy)) {
    run.note('midStream');
    c.crash(buddy);
    const outcome = run.recover(victim);
    if ((outcome.counts['descentSessions'] ?? 0) > 0) run.note('descentAfter');
    c.sim.runFor(prng.range(0, 10));
    c.restart(buddy);
    run.recover(buddy);
  } else {
    run.recover(victim);
  }
};

/** The restarted replica crashes again while it recovers, then restarts once more. */
export const joinerCrashMidRecovery: Scenario = (run) => {
  const { c, prng } = run;
  const victim = pickVictim(run);
  c.crash(victim);
  c.sim.runFor(15 + prng.range(0, 20));
  c.restart(victim);
  const admitted = c.sim.runUntil(() => c.replica(victim)?.recovering === true, 200);
  c.sim.runFor(prng.range(0, 2));
  if (admitted && c.replica(victim)?.recovering === true) run.note('crashedRecovering');
  c.crash(victim);
  c.sim.runFor(10 + prng.range(0, 20));
  c.restart(victim);
  run.recover(victim);
};

/** The replica fails, then its Buddy: the next Buddy takes over without a complete buffer. */
export const buddyMoves: Scenario = (run) => {
  const { c, prng } = run;
  const victim = pickVictim(run);
  c.crash(victim);
  c.sim.runFor(15 + prng.range(0, 10));
  run.rejoinAll();
  const buddy = currentBuddy(run, victim);
  if (buddy !== undefined && c.replica(buddy)) {
    run.note('buddyFailed');
    c.crash(buddy);
  }
  c.sim.runFor(15 + prng.range(0, 15));
  c.restart(victim);
  run.recover(victim);
  if (buddy !== undefined && !c.sim.isUp(buddy)) {
    c.restart(buddy);
    run.recover(buddy);
  }
};

/** The replica crashes again right after it recovered, before any periodic sync. */
export const crashRightAfterRecovery: Scenario = (run) => {
  const { c, prng } = run;
  const victim = pickVictim(run);
  c.crash(victim);
  c.sim.runFor(20 + prng.range(0, 20));
  c.restart(victim);
  const first = run.recover(victim);
  if (first.entriesApplied > 0) run.note('appliedThenCrashed');
  c.crash(victim);
  c.sim.runFor(15 + prng.range(0, 15));
  c.restart(victim);
  run.recover(victim);
};

/** Every replica loses power while one recovers; the cluster cold-starts from what the media kept. */
export const powerFailureDuringRecovery: Scenario = (run) => {
  const { c, prng } = run;
  const victim = pickVictim(run);
  c.crash(victim);
  c.sim.runFor(15 + prng.range(0, 15));
  c.restart(victim);
  if (c.sim.runUntil(() => c.replica(victim)?.recovering === true, 200))
    run.note('failedRecovering');
  c.sim.runFor(prng.range(0, 1));
  run.stopLoad();
  run.quietNetwork();
  c.powerFailure();
  // What completed before the failure was linearizable; the cold start begins a new history.
  assertLinearizable(c);
  c.sim.runFor(5);
  c.restartAll();
  c.coldStart(RECOVER_LIMIT_MS);
  run.restartLoad();
  c.sim.runFor(15 + prng.range(0, 10));
};

export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  'the Buddy crashes in the middle of the stream': buddyCrashMidStream,
  'the recovering replica crashes mid-recovery': joinerCrashMidRecovery,
  'two failures where the Buddy moves': buddyMoves,
  'a crash right after recovery': crashRightAfterRecovery,
  'a whole-cluster power failure during a recovery': powerFailureDuringRecovery,
};
