import { join, relative } from 'node:path';
import { throughputChart, writeChart } from '../report/charts.js';
import {
  formatNumber,
  makeDocument,
  markdownTable,
  writeReport,
  type ResultDocument,
} from '../report/document.js';
import type { ExperimentConfig } from './config.js';
import type { StrategyRun } from './run-experiment.js';

/** A strategy's run with its comparison to HEAL's (same invocation, same seed and workload). */
export interface ExperimentRow extends StrategyRun {
  /** recoveryMs / HEAL's recoveryMs (null when HEAL was not run). */
  latencyVsHeal: number | null;
  /** degradation - HEAL's degradation, as a fraction (null when HEAL was not run). */
  degradationOverHeal: number | null;
}

/** The demo scenario's goals, from the paper's claims (20.7x leader-based, 8.7% degradation). */
export const GOALS = {
  latencyVsLeaderIncremental: 20,
  latencyVsFullCopy: 100,
  healDegradationBelow: 0.05,
} as const;

/** What each phase of a recovery report covers (phases are consecutive, from the restart). */
const PHASES: Record<string, string> = {
  load: "reading the replica's own medium into memory at restart (the same work for every strategy)",
  join: 'HEAL: building the digest and waiting for the view that admits it as a ShadowReplica; baselines: the view change that admits it once synced',
  startToAck: 'digest sent to the Buddy until the Buddy accepts (or its stream starts)',
  exchange:
    "accept until the first batch (a Merkle descent when the Buddy's buffer cannot cover the gap)",
  replay: 'streaming and applying the selected entries',
  copy: 'the donor streaming its whole store',
  catchUp: 'the writes the donor took during the copy',
  sync: "the keeper's DIFF (or SNAP) up to the synced marker",
  finalize:
    'HEAL: confirming with the Buddy and replaying its own Invalid records; baselines: forwarded writes until the final marker',
};

/** Published figures (the paper), shown beside ours for reference. */
const PAPER_FIGURES = [
  ['HEAL', '120 ms', '8.7%'],
  ['conventional (full copy)', '360 s', '16.2%'],
  ['leader-based', "20.7x HEAL's", "62.4% more than HEAL's"],
] as const;

export function compareToHeal(runs: readonly StrategyRun[]): ExperimentRow[] {
  const heal = runs.find((r) => r.strategy === 'heal');
  return runs.map((r) => ({
    ...r,
    latencyVsHeal: heal && heal.recoveryMs > 0 ? round(r.recoveryMs / heal.recoveryMs) : null,
    degradationOverHeal: heal ? round(r.degradation - heal.degradation, 4) : null,
  }));
}

function pct(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)}%` : 'n/a';
}

function phases(r: StrategyRun): string {
  return Object.entries(r.phasesMs)
    .map(([k, v]) => `${k} ${formatNumber(v)}`)
    .join(', ');
}

/**
 * The whole failure timeline, as a client sees it (the demo's report): the failure window until
 * a view without the victim, the new worker's start, the recovery, and the throughput lost
 * during the outage and during the recovery.
 */
export function timelineTable(rows: readonly StrategyRun[]): string {
  return markdownTable(
    [
      'strategy',
      'failure ms',
      'worker start ms',
      'recovery ms',
      'admission ms',
      'outage degradation',
      'degradation',
      'steady view changes',
    ],
    rows.map((r) => [
      r.strategy,
      r.failureMs ?? 'none',
      r.workerStartMs,
      r.recoveryMs,
      r.phasesMs['join'] ?? '-',
      pct(r.outageDegradation),
      pct(r.degradation),
      r.steadyViewChanges,
    ]),
  );
}

/** The side-by-side table: latency with its phase split, degradation, missed updates, bytes, ratios. */
export function experimentTable(rows: readonly ExperimentRow[]): string {
  return markdownTable(
    [
      'strategy',
      'recovery ms',
      'phases ms',
      'degradation',
      'ops/s steady -> recovering',
      'missed keys',
      'missed writes',
      'bytes moved',
      'latency vs HEAL',
      'degradation vs HEAL',
    ],
    rows.map((r) => [
      r.strategy,
      r.recoveryMs,
      phases(r),
      pct(r.degradation),
      `${formatNumber(r.steadyOpsPerSec)} -> ${formatNumber(r.recoveryOpsPerSec)}${r.recoveryWindow === 'overlapping' ? ' (*)' : ''}`,
      r.missedKeys,
      r.missedWrites,
      r.bytesMoved,
      r.latencyVsHeal === null ? '-' : `${r.latencyVsHeal.toFixed(1)}x`,
      r.degradationOverHeal === null
        ? '-'
        : `${r.degradationOverHeal >= 0 ? '+' : ''}${(r.degradationOverHeal * 100).toFixed(1)} pp`,
    ]),
  );
}

export function paperTable(): string {
  return markdownTable(
    ['published (paper)', 'recovery', 'degradation'],
    PAPER_FIGURES.map((row) => [...row]),
  );
}

/** One line per phase: ms and share of the recovery. */
function whereTimeGoes(r: StrategyRun): string {
  const parts = Object.entries(r.phasesMs).map(
    ([k, v]) =>
      `${k} ${formatNumber(v)} ms (${r.recoveryMs > 0 ? ((v / r.recoveryMs) * 100).toFixed(0) : '0'}%)`,
  );
  return `- ${r.strategy}: ${formatNumber(r.recoveryMs)} ms = ${parts.join(' + ')}`;
}

/** Recovery without the load phase: what the strategy's protocol itself took. */
function protocolMs(r: StrategyRun): number {
  return r.recoveryMs - (r.phasesMs['load'] ?? 0);
}

/**
 * The goals, met or missed, with the actual ratios; for a missed one, where the time goes
 * phase by phase (and, for degradation, what the window held).
 */
export function goalsSection(
  rows: readonly ExperimentRow[],
  machine: { threads: number; cpus: number },
): string {
  const heal = rows.find((r) => r.strategy === 'heal');
  if (!heal) return '';
  const lines = ['## Goals and where the time goes', ''];
  const missed: StrategyRun[] = [];
  for (const [name, goal] of [
    ['leader-incremental', GOALS.latencyVsLeaderIncremental],
    ['full-copy', GOALS.latencyVsFullCopy],
  ] as const) {
    const other = rows.find((r) => r.strategy === name);
    if (!other || other.latencyVsHeal === null) continue;
    const met = other.latencyVsHeal >= goal;
    lines.push(
      `- HEAL's recovery at least ${goal}x faster than ${name}'s: ${met ? 'met' : 'missed'}; ${name} took ` +
        `${other.latencyVsHeal.toFixed(2)}x HEAL's time (${formatNumber(other.recoveryMs)} ms vs ${formatNumber(heal.recoveryMs)} ms).`,
    );
    if (!met) missed.push(other);
  }
  const degradationMet = heal.degradation < GOALS.healDegradationBelow;
  lines.push(
    `- HEAL's throughput degradation under ${pct(GOALS.healDegradationBelow)}: ${degradationMet ? 'met' : 'missed'}, actual ${pct(heal.degradation)}.`,
  );
  if (missed.length > 0) {
    lines.push(
      '',
      'Recovery latency, phase by phase:',
      '',
      whereTimeGoes(heal),
      ...missed.map(whereTimeGoes),
      '',
    );
    const load = heal.phasesMs['load'] ?? 0;
    lines.push(
      `HEAL's load phase is ${formatNumber(load)} ms of its ${formatNumber(heal.recoveryMs)} ms. Without it (the protocol alone): ` +
        [heal, ...missed].map((r) => `${r.strategy} ${formatNumber(protocolMs(r))} ms`).join(', ') +
        (protocolMs(heal) > 0
          ? `; ratios ${missed.map((r) => `${r.strategy} ${(protocolMs(r) / protocolMs(heal)).toFixed(1)}x`).join(', ')}.`
          : '.'),
    );
    const used = new Set([heal, ...missed].flatMap((r) => Object.keys(r.phasesMs)));
    lines.push(
      '',
      'Phases:',
      ...[...used].map((p) => `- ${p}: ${PHASES[p] ?? 'as the strategy names it'}`),
    );
  }
  if (!degradationMet) {
    const below = (opsPerSec: number): string => {
      if (!(heal.steadyOpsPerSec > 0)) return 'n/a';
      const drop = 1 - opsPerSec / heal.steadyOpsPerSec;
      return drop >= 0 ? `${pct(drop)} below steady` : `${pct(-drop)} above steady`;
    };
    lines.push(
      '',
      `HEAL's degradation: ${formatNumber(heal.steadyOpsPerSec)} ops/s in the steady window, ${formatNumber(heal.recoveryOpsPerSec)} ops/s ` +
        `over the ${heal.recoveryBuckets} buckets from the restart to serving reads${heal.recoveryWindow === 'overlapping' ? ' (the buckets the window overlaps)' : ''}. ` +
        'By phase (a phase shorter than a bucket is measured over the buckets it overlaps): ' +
        Object.entries(heal.phaseOpsPerSec)
          .map(([p, v]) => `${p} ${formatNumber(v)} ops/s (${below(v)})`)
          .join(', ') +
        '. ' +
        `For comparison, the second half of the outage ran at ${formatNumber(heal.lateOutageOpsPerSec)} ops/s (${below(heal.lateOutageOpsPerSec)}), and ` +
        `the ${formatNumber(heal.workerStartMs)} ms before the restart, while the new worker thread was spawned and opened its medium, at ` +
        `${formatNumber(heal.workerStartOpsPerSec)} ops/s (${below(heal.workerStartOpsPerSec)}). The load phase exchanges no message: what it costs the ` +
        `others is CPU, which the restarted replica shares with the serving replicas and the clients (${machine.threads} busy threads on ${machine.cpus} CPUs here).`,
    );
  }
  return lines.join('\n');
}

/** What the numbers mean, the scenario, and each strategy's counts. */
export function experimentNotes(
  config: ExperimentConfig,
  rows: readonly ExperimentRow[],
  valueBytes: number,
): string {
  const lines = [
    `One crash-and-recover run per strategy on worker threads, in one invocation: a fresh cluster each, same seed (${config.seed}), dataset and workload.`,
    `${config.replicas} replicas, ${formatNumber(config.keys)} keys of ${valueBytes} B preloaded, workload ${config.workload}, model ${config.model}, ` +
      `medium ${config.medium}${config.medium === 'pmem' ? ` (latency model ${config.pmemLatency ? 'on' : 'off'})` : ''}; ${config.clients} ${
        config.targetOpsPerSec === undefined
          ? `closed-loop clients (piscina tasks) with ${config.window} operations in flight each`
          : `open-loop clients (piscina tasks) issuing ${formatNumber(config.targetOpsPerSec)} operations/s in all on a schedule, at most ${config.window} outstanding each (the rest shed: see \`shed\` in the JSON), latency from the scheduled time`
      }; suspicion after ${formatNumber(config.suspicionMs)} ms of silence. Replica ${config.victim} crashes after ${formatNumber(config.warmupMs)} ms of warm-up and a ` +
      `${formatNumber(config.steadyMs)} ms steady window, stays down ${formatNumber(config.outageMs)} ms, restarts, recovers, and the load runs ${formatNumber(config.tailMs)} ms more.`,
    '',
    '- recoveryMs: measured inside the recovering replica (its clock is the shared clock), from its restart (the start of its new incarnation, before it loads its medium) to serving reads; phases are consecutive and add up to it. ' +
      'Spawning the new worker thread before that (workerStartMs in the JSON) is not part of it. ' +
      "recoveryCpuMs (JSON): the CPU the recovering replica's thread used in that interval (Linux's per-thread schedstat; the simulator: the CPU it charged); the rest of recoveryMs it waited for messages or for a core.",
    '- degradation: 1 - mean(throughput during recovery) / mean(throughput in the steady window before the crash), completed operations per 10 ms bucket, both in the same run; ' +
      'during recovery = the buckets wholly inside [restart, serving reads), or the buckets it overlaps when it holds no whole bucket (marked (*)). ' +
      'The restart time is when the restarted replica began, as its report states on the shared clock.',
    '- missedKeys: distinct keys with a client put that ended (answered or failed) after the crash and began before the restart, so the restarted replica could not have it from its medium; ' +
      `missedBytes: their size as recovery moves them (key + value + 21 B); missedWrites: writes the live replicas started (writesStarted) from the crash to the restart.`,
    '- bytesMoved: wire bytes (header included) of every recovery message the recovering replica received; entriesApplied (JSON): received entries newer than what it had.',
    '- Baselines run as built (docs/ARCHITECTURE.md §6), with the same recovery buffer budget as HEAL ' +
      `(${formatNumber(config.bufferBytes)} B); leader-incremental keeps ZooKeeper's default commitLogCount (500) and snapshotSizeFactor (0.33).`,
    '- Clients avoid a replica for 200 ms after it timed out an operation or was not serving (another replica answered for it), then probe it one request at a time until it answers itself.',
  ];
  if (rows.length > 1) {
    const steady = rows.map((r) => r.steadyOpsPerSec);
    const [low, high] = [Math.min(...steady), Math.max(...steady)];
    const spread = high + low > 0 ? (high - low) / (high + low) : 0;
    lines.push(
      `- Steady-window throughput ranged from ${formatNumber(low)} to ${formatNumber(high)} ops/s (±${pct(spread)} around the midpoint) across the runs ` +
        "of this invocation, same configuration one after the other: differences in degradation of that order are within this machine's run-to-run variation.",
    );
  }
  for (const r of rows) {
    if (r.startEpoch !== 1) {
      lines.push(
        `- ${r.strategy}: every one of the ${r.clusterStarts} clusters started changed views while starting (a replica writing its dataset was ` +
          `suspected); the run used the last, at epoch ${r.startEpoch}, so its strategy did not start from a clean state.`,
      );
    } else if (r.clusterStarts > 1) {
      lines.push(
        `- ${r.strategy}: the cluster was started ${r.clusterStarts} times until one kept its first view while starting.`,
      );
    }
  }
  for (const r of rows)
    if (Object.keys(r.counts).length > 0)
      lines.push(`- ${r.strategy} counts: ${JSON.stringify(r.counts)}`);
  return lines.join('\n');
}

export interface WrittenExperiment {
  dir: string;
  json: string;
  md: string;
  svg: string;
  doc: ResultDocument<ExperimentRow>;
}

/**
 * Writes `<name>.json` (the document), `<name>.md` (table, reference figures, goals, notes,
 * chart link) and `throughput.svg` (throughput over time, one panel per strategy, with the
 * crash, new worker thread, restart, serving-reads and view-install marks) into `dir`.
 */
export async function writeExperiment(
  dir: string,
  name: string,
  command: string,
  title: string,
  config: Record<string, unknown>,
  rows: ExperimentRow[],
  body: { table: string; notes: string; chartTitle: string },
): Promise<WrittenExperiment> {
  const svgPath = join(dir, 'throughput.svg');
  writeChart(
    svgPath,
    await throughputChart({
      title: body.chartTitle,
      series: rows.map((r) => ({
        strategy: r.strategy,
        points: r.opsPerBucket.map((n, b) => ({
          tMs: b * r.bucketMs,
          opsPerSec: (n * 1000) / r.bucketMs,
        })),
      })),
      marks: rows.flatMap((r) => [
        { strategy: r.strategy, label: 'crash', tMs: r.marksMs.crashMs },
        { strategy: r.strategy, label: 'new worker', tMs: r.marksMs.restartCalledMs },
        { strategy: r.strategy, label: 'restart', tMs: r.marksMs.restartMs },
        { strategy: r.strategy, label: 'serving reads', tMs: r.marksMs.servingReadsMs },
        ...r.views.map((v) => ({ strategy: r.strategy, label: `view e${v.epoch}`, tMs: v.atMs })),
      ]),
    }),
  );
  const doc = makeDocument(command, config, rows);
  const notes = `${body.notes}\n\n![Throughput over time](${relative(dir, svgPath)})`;
  const paths = writeReport(dir, name, doc, title, body.table, notes);
  return { dir, json: paths.json, md: paths.md, svg: svgPath, doc };
}

function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
