import { join, relative } from 'node:path';
import { LINK_PRESETS } from '@heal/actors/sim';
import { formatNumber, machineLine } from '../report/document.js';
import { describeMachine, type Machine } from '../report/machine.js';
import { BENCH_RESULTS_DIR, resultsDir } from '../report/results-dir.js';
import { experimentWorkload } from '../experiment/options.js';
import { progressLine } from '../experiment/progress.js';
import {
  compareToHeal,
  experimentTable,
  paperTable,
  timelineTable,
  writeExperiment,
  type ExperimentRow,
} from '../experiment/report.js';
import { profileShownPath, type LoadedProfile } from './cost-profiles.js';
import { runSimExperiment, type SimRun } from './run-sim-experiment.js';
import type { SimExperimentConfig, SimModelConfig } from './sim-config.js';

export interface SimInvocation {
  command: string;
  title: string;
  config: SimExperimentConfig;
  profile: LoadedProfile | undefined;
  values: Record<string, unknown>;
}

/** What a report says of the cost profile: its name, file, when and on what it was measured. */
export function profileSummary(profile: LoadedProfile | undefined): Record<string, unknown> {
  if (!profile) return { name: 'none' };
  const p = profile.profile;
  return {
    name: p.name,
    path: profileShownPath(profile.path),
    measuredAt: p.measuredAt,
    machine: p.machine,
  };
}

/** The machines the simulator models, in words. */
export function modelLine(
  config: SimExperimentConfig & { replicas: number },
  profile: LoadedProfile | undefined,
): string {
  if (!profile)
    return 'No CPU model (--cost-profile none): handlers take no time; only message latency and bandwidth cost virtual time.';
  const m = profile.profile.machine as Partial<Machine>;
  const measured =
    `cost profile ${profile.profile.name} (${relative(process.cwd(), profile.path) || profile.path}), measured ${profile.profile.measuredAt}` +
    ` on ${m.cpus ?? '?'} CPUs (${m.cpuModel ?? 'unknown'}), Node ${m.node ?? '?'}`;
  const placement =
    config.sharedCores > 0
      ? `all ${config.replicas} replicas and ${config.clients} clients sharing ${config.sharedCores} core${config.sharedCores > 1 ? 's' : ''} (as threads on one machine)`
      : `each replica and each client on a machine of its own with ${config.cores} core${config.cores > 1 ? 's' : ''}`;
  return `CPU model: ${placement}; every handler, message and storage operation costs what the ${measured} says.`;
}

export function linkLine(link: SimModelConfig['link']): string {
  const preset = LINK_PRESETS[link];
  return (
    `Network: ${link}, one-way latency ${formatNumber(preset.link.minMs * 1000)}-${formatNumber(preset.link.maxMs * 1000)} us, ` +
    `${formatNumber(preset.nic.bytesPerSec / 1e9)} GB/s per NIC and direction.`
  );
}

/** What the numbers mean in the simulator, and what each run checked. */
export function simNotes(
  config: SimExperimentConfig,
  profile: LoadedProfile | undefined,
  rows: readonly SimRun[],
): string {
  const lines = [
    `One crash-and-recover run per strategy in the deterministic simulator (virtual time), same seed (${config.seed}), dataset and workload.`,
    modelLine(config, profile),
    linkLine(config.link),
    `${config.replicas} replicas, ${formatNumber(config.keys)} keys preloaded, workload ${config.workload}, model ${config.model}, medium ${config.medium}; ` +
      `${config.clients} clients with ${config.window} operations in flight each (the load generators' code); the thread runtime's protocol timing ` +
      `(suspicion after ${formatNumber(config.suspicionMs)} ms of silence); a crash resets its links, as a worker's exit does on threads. ` +
      `Replica ${config.victim} crashes after ${formatNumber(config.warmupMs)} ms of warm-up and a ${formatNumber(config.steadyMs)} ms steady window, ` +
      `stays down ${formatNumber(config.outageMs)} ms, restarts, recovers; then ${formatNumber(config.tailMs)} ms more load.`,
    '',
    "- Fields as on threads: failureMs from the crash to the first view without the victim; recoveryMs from the restarted replica's start to serving reads, phases consecutive; " +
      "workerStartMs from the restart call to the medium loaded (the model's start cost plus the load phase); degradation = 1 - mean(throughput during recovery) / mean(steady throughput) and " +
      'outageDegradation = 1 - mean(throughput from crash to restart) / steady, in 10 ms buckets of virtual time.',
    `- Every run: the history ${config.check ? 'checked linearizable' : 'not checked (--no-check)'}; the replicas verified equal after the load stopped and they settled.`,
    '- cpuBusyMs (JSON): virtual CPU time each replica, then each client, was charged over the run.',
  ];
  for (const r of rows)
    if (Object.keys(r.counts).length > 0)
      lines.push(`- ${r.strategy} counts: ${JSON.stringify(r.counts)}`);
  return lines.join('\n');
}

/** The document's config: the experiment's, the workload's parameters, and the profile used. */
export function simDocConfig(
  config: SimExperimentConfig,
  profile: LoadedProfile | undefined,
): Record<string, unknown> {
  const workload = experimentWorkload(config);
  return {
    runtime: 'sim',
    ...config,
    valueBytes: workload.datasetValueBytes(0),
    workloadParams: workload.describe(),
    costProfile: profileSummary(profile),
  };
}

/**
 * Runs the experiment in the simulator and writes `<command>.json`, `.md` and `throughput.svg`
 * as the threads' experiment does (runAndPublish), with the model and the profile in the notes.
 */
export async function runAndPublishSim(run: SimInvocation): Promise<number> {
  const { config, profile } = run;
  const progress = progressLine(run.command);
  let rows: (ExperimentRow & SimRun)[];
  try {
    rows = compareToHeal(runSimExperiment(config, profile, progress.update)) as (ExperimentRow &
      SimRun)[];
  } finally {
    progress.done();
  }
  const dir = resultsDir(run.values, join(BENCH_RESULTS_DIR, run.command));
  const table = `${timelineTable(rows)}\n\n${experimentTable(rows)}\n\nPublished figures, for reference:\n\n${paperTable()}`;
  const notes = simNotes(config, profile, rows);
  const chartTitle = `Completed operations per second (virtual time) while one of ${config.replicas} replicas fails and recovers (${config.workload}, ${config.medium}, ${config.model}, simulator)`;
  const written = await writeExperiment(
    dir,
    run.command,
    run.command,
    run.title,
    simDocConfig(config, profile),
    rows,
    { table, notes, chartTitle },
  );
  const where = `heal ${run.command}: results in ${relative(process.cwd(), dir) || '.'}/ (${run.command}.json, ${run.command}.md, throughput.svg)`;
  if (run.values['json'] === true) {
    process.stdout.write(`${JSON.stringify(written.doc, null, 2)}\n`);
    process.stderr.write(`${where}\n`);
  } else {
    process.stdout.write(
      `${run.title}\nMachine: ${machineLine(describeMachine())}\n\n${table}\n\n${notes}\n\n${where}\n`,
    );
  }
  return 0;
}
