import { join } from 'node:path';
import type { Command } from '../cli/command.js';
import { UsageError } from '../cli/command.js';
import { recoveryLatencyChart, writeChart } from '../report/charts.js';
import { formatNumber, makeDocument, markdownTable, writeReport } from '../report/document.js';
import { BENCH_RESULTS_DIR, outputOptions, resultsDir } from '../report/results-dir.js';
import { DEMO_EXPERIMENT } from '../experiment/config.js';
import { experimentWorkload, parseExperimentConfig } from '../experiment/options.js';
import type { StrategyRun } from '../experiment/summarize.js';
import { SWEEP_NAMES, SWEEPS, type SweepPoint } from '../sweep/sweeps.js';
import { SIM_EXPERIMENT, SIM_MODEL, SIM_MAX_REPLICAS } from '../sim/sim-config.js';
import {
  checkRuntimeFlags,
  parseSimExperiment,
  recoverOptions,
  runtimeOf,
  simProfile,
  type SimDefaults,
} from './recover.js';

interface SweepRow extends StrategyRun {
  sweep: string;
  x: number | string;
}

/** Sweeps run many experiments: a smaller dataset than recover's, and shorter phases. */
const SWEEP_SIM: SimDefaults = {
  experiment: {
    ...SIM_EXPERIMENT,
    keys: 20_000,
    warmupMs: 200,
    steadyMs: 300,
    outageMs: 500,
    tailMs: 100,
  },
  model: SIM_MODEL,
};
const SWEEP_EXPERIMENT = {
  ...DEMO_EXPERIMENT,
  keys: 20_000,
  warmupMs: 1500,
  steadyMs: 1000,
  tailMs: 500,
};

const pct = (v: number | null | undefined): string =>
  typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '-';

export const sweepCommand: Command = {
  name: 'sweep',
  summary: `recovery of every strategy across one dimension (${SWEEP_NAMES.join(', ')})`,
  about: [
    'heal sweep <name>, one of:',
    ...SWEEPS.map((s) => `  ${s.name.padEnd(12)} ${s.summary}`),
    "Every point runs `heal recover` for each strategy on the same seed; the flags are heal recover's,",
    "for either runtime, with the sweep's own defaults below.",
  ],
  options: {
    ...recoverOptions(
      SWEEP_SIM,
      SWEEP_EXPERIMENT,
      outputOptions('sweep-<name>.json, .md and .svg'),
    ),
  },
  positionals: true,
  async run(values, positionals) {
    const [name, ...rest] = positionals;
    const sweep = SWEEPS.find((s) => s.name === name);
    if (!sweep || rest.length > 0)
      throw new UsageError(
        `heal sweep needs one sweep name: ${SWEEP_NAMES.join('|')}, got ${positionals.join(' ') || 'none'}`,
      );
    checkRuntimeFlags(values, this.options);
    const runtime = runtimeOf(values);
    const rows: SweepRow[] = [];
    // Progress lines only for a person watching (a terminal); the results path is always printed.
    const say = process.stderr.isTTY
      ? (line: string): void => {
          process.stderr.write(line);
        }
      : (): void => {};
    const started = performance.now();
    let base: Record<string, unknown>;
    let points: SweepPoint[];
    if (runtime === 'threads') {
      const config = parseExperimentConfig(values, SWEEP_EXPERIMENT);
      base = { runtime: 'threads', ...config };
      points = sweep.points(config.keys, 'threads');
      const { runExperiment } = await import('../experiment/run-experiment.js');
      for (const [i, point] of points.entries()) {
        const replicas = point.change.replicas ?? config.replicas;
        say(
          `heal sweep ${sweep.name}: point ${i + 1}/${points.length}: ${sweep.xLabel} = ${point.x}\n`,
        );
        const pointConfig = {
          ...config,
          ...point.change,
          victim: Math.min(config.victim, replicas - 1),
        };
        experimentWorkload(pointConfig);
        const runs = await runExperiment(pointConfig, (p) => say(`  ${p.strategy}: ${p.stage}\n`));
        for (const run of runs) rows.push({ sweep: sweep.name, x: point.x, ...run });
      }
    } else {
      const config = parseSimExperiment(values, SWEEP_SIM);
      const profile = await simProfile(config);
      const { profileSummary } = await import('../sim/sim-report.js');
      base = { runtime: 'sim', ...config, costProfile: profileSummary(profile) };
      points = sweep
        .points(config.keys, 'sim')
        .filter((p) => (p.change.replicas ?? config.replicas) <= SIM_MAX_REPLICAS);
      const { runSimExperiment } = await import('../sim/run-sim-experiment.js');
      for (const [i, point] of points.entries()) {
        const replicas = point.change.replicas ?? config.replicas;
        say(
          `heal sweep ${sweep.name}: point ${i + 1}/${points.length}: ${sweep.xLabel} = ${point.x}\n`,
        );
        const pointConfig = {
          ...config,
          ...point.change,
          victim: Math.min(config.victim, replicas - 1),
        };
        experimentWorkload(pointConfig);
        const runs = runSimExperiment(pointConfig, profile, (p) =>
          say(`  ${p.strategy}: ${p.stage}\n`),
        );
        for (const run of runs) rows.push({ sweep: sweep.name, x: point.x, ...run });
      }
    }
    const dir = resultsDir(values, BENCH_RESULTS_DIR);
    const wallSec = Math.round((performance.now() - started) / 1000);
    const doc = makeDocument(
      `sweep ${sweep.name}`,
      { ...base, sweep: sweep.name, points: points.map((p) => p.x), wallSec },
      rows,
    );
    const unit = runtime === 'threads' ? 'ms' : 'virtual ms';
    const table = markdownTable(
      [
        sweep.xLabel,
        'strategy',
        `failure ${unit}`,
        `recovery ${unit}`,
        'phases',
        'outage degradation',
        'degradation',
        'missed keys',
        'bytes moved',
        'latency vs heal',
      ],
      rows.map((r) => {
        const heal = rows.find((h) => h.x === r.x && h.strategy === 'heal');
        return [
          r.x,
          r.strategy,
          r.failureMs ?? 'none',
          r.recoveryMs,
          Object.entries(r.phasesMs)
            .map(([k, v]) => `${k} ${formatNumber(v)}`)
            .join(', '),
          pct(r.outageDegradation),
          pct(r.degradation),
          r.missedKeys,
          r.bytesMoved,
          heal && heal.recoveryMs > 0 ? `${formatNumber(r.recoveryMs / heal.recoveryMs)}x` : '-',
        ];
      }),
    );
    const chart = join(dir, `sweep-${sweep.name}.svg`);
    writeChart(
      chart,
      await recoveryLatencyChart({
        title: `Recovery latency by ${sweep.xLabel} (${runtime === 'threads' ? 'worker threads' : 'simulator, virtual ms'})`,
        xLabel: sweep.xLabel,
        points: rows.map((r) => ({
          x: r.x,
          strategy: r.strategy,
          recoveryMs: Math.max(r.recoveryMs, 0.001),
        })),
      }),
    );
    const notes = [
      `Chart: ![recovery latency](sweep-${sweep.name}.svg). Each point: one crash-and-recover run per strategy, same seed, ` +
        `${runtime === 'threads' ? 'on worker threads' : 'in the deterministic simulator'} (the recovery experiment: the fields heal recover reports); ` +
        `see \`heal recover --help\`. ${wallSec} s wall-clock in all.`,
      ...(sweep.reference ?? []),
    ];
    if (runtime === 'sim') {
      const { linkLine, modelLine } = await import('../sim/sim-report.js');
      const config = parseSimExperiment(values, SWEEP_SIM);
      notes.push(modelLine(config, await simProfile(config)), linkLine(config.link));
    }
    const paths = writeReport(
      dir,
      `sweep-${sweep.name}`,
      doc,
      `Sweep: ${sweep.summary}`,
      table,
      notes.join('\n\n'),
    );
    if (values['json'] === true) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else process.stdout.write(`${table}\n`);
    process.stderr.write(
      `heal sweep ${sweep.name}: results in ${dir} (${paths.json}, ${paths.md}, ${chart})\n`,
    );
    return 0;
  },
};
