import { join } from 'node:path';
import type { Command } from '../cli/command.js';
import { UsageError } from '../cli/command.js';
import { recoveryLatencyChart, writeChart } from '../report/charts.js';
import { formatNumber, makeDocument, markdownTable, writeReport } from '../report/document.js';
import type { RecoveryRowFields } from '../report/recovery-row.js';
import { BENCH_RESULTS_DIR, outputOptions, resultsDir } from '../report/results-dir.js';
import { DEMO_EXPERIMENT } from '../experiment/config.js';
import { experimentWorkload, parseExperimentConfig } from '../experiment/options.js';
import { SWEEP_NAMES, SWEEPS, threadPoints } from '../sweep/sweeps.js';
import { parseRecoverConfig, recoverOptions, runtimeOf, SIM_RECOVER } from './recover.js';

interface SweepRow extends RecoveryRowFields {
  sweep: string;
  x: number | string;
  degradation?: number;
}

/** Sweeps run many experiments: a smaller dataset than recover's, and shorter phases. */
const SWEEP_SIM = { ...SIM_RECOVER, keys: 20_000, outageMs: 1000 };
const SWEEP_EXPERIMENT = { ...DEMO_EXPERIMENT, keys: 20_000, warmupMs: 1500, steadyMs: 1000, tailMs: 500 };

export const sweepCommand: Command = {
  name: 'sweep',
  summary: `recovery of every strategy across one dimension (${SWEEP_NAMES.join(', ')})`,
  about: [
    'heal sweep <name>, one of:',
    ...SWEEPS.map((s) => `  ${s.name.padEnd(12)} ${s.summary}`),
    'Every point runs `heal recover` for each strategy on the same seed; the flags are heal recover\'s,',
    'for either runtime, with the sweep\'s own defaults below.',
  ],
  options: {
    ...recoverOptions(SWEEP_SIM, SWEEP_EXPERIMENT, outputOptions('sweep-<name>.json, .md and .svg')),
  },
  positionals: true,
  async run(values, positionals) {
    const [name, ...rest] = positionals;
    const sweep = SWEEPS.find((s) => s.name === name);
    if (!sweep || rest.length > 0) throw new UsageError(`heal sweep needs one sweep name: ${SWEEP_NAMES.join('|')}, got ${positionals.join(' ') || 'none'}`);
    const threads = runtimeOf(values) === 'threads';
    const rows: SweepRow[] = [];
    // Progress lines only for a person watching (a terminal); the results path is always printed.
    const say = process.stderr.isTTY ? (line: string): void => { process.stderr.write(line); } : (): void => {};
    let base: Record<string, unknown>;
    let points;
    if (threads) {
      const config = parseExperimentConfig(values, SWEEP_EXPERIMENT);
      base = { runtime: 'threads', ...config };
      points = threadPoints(sweep, config.keys);
      const { runExperiment } = await import('../experiment/run-experiment.js');
      for (const [i, point] of points.entries()) {
        const replicas = point.threads.replicas ?? config.replicas;
        say(`heal sweep ${sweep.name}: point ${i + 1}/${points.length}: ${sweep.xLabel} = ${point.x}\n`);
        const pointConfig = { ...config, ...point.threads, victim: Math.min(config.victim, replicas - 1) };
        experimentWorkload(pointConfig);
        const runs = await runExperiment(pointConfig,
          (p) => say(`  ${p.strategy}: ${p.stage}\n`));
        for (const run of runs) rows.push({ sweep: sweep.name, x: point.x, ...run });
      }
    } else {
      const config = parseRecoverConfig(values, SWEEP_SIM);
      base = { ...config };
      points = sweep.points(config.keys);
      const { runSimRecover } = await import('../recover/run-sim-recover.js');
      for (const [i, point] of points.entries()) {
        const replicas = point.sim.replicas ?? config.replicas;
        say(`heal sweep ${sweep.name}: point ${i + 1}/${points.length}: ${sweep.xLabel} = ${point.x}\n`);
        const runs = runSimRecover({ ...config, ...point.sim, victim: Math.min(config.victim, replicas - 1) }, (line) => say(`  ${line}\n`));
        for (const run of runs) rows.push({ sweep: sweep.name, x: point.x, ...run });
      }
    }
    const dir = resultsDir(values, BENCH_RESULTS_DIR);
    const doc = makeDocument(`sweep ${sweep.name}`, { ...base, sweep: sweep.name, points: points.map((p) => p.x) }, rows);
    const unit = threads ? 'ms' : 'virtual ms';
    const table = markdownTable(
      [sweep.xLabel, 'strategy', `recovery ${unit}`, 'degradation', 'missed keys', 'missed bytes', 'bytes moved', 'latency vs heal'],
      rows.map((r) => {
        const heal = rows.find((h) => h.x === r.x && h.strategy === 'heal');
        return [r.x, r.strategy, r.recoveryMs, r.degradation === undefined ? '-' : `${(r.degradation * 100).toFixed(1)}%`,
          r.missedKeys, r.missedBytes, r.bytesMoved, heal && heal.recoveryMs > 0 ? `${formatNumber(r.recoveryMs / heal.recoveryMs)}x` : '-'];
      }),
    );
    const chart = join(dir, `sweep-${sweep.name}.svg`);
    writeChart(chart, await recoveryLatencyChart({
      title: `Recovery latency by ${sweep.xLabel} (${threads ? 'worker threads' : 'simulator, virtual ms'})`, xLabel: sweep.xLabel,
      points: rows.map((r) => ({ x: r.x, strategy: r.strategy, recoveryMs: Math.max(r.recoveryMs, 0.001) })),
    }));
    const notes = `Chart: ![recovery latency](sweep-${sweep.name}.svg). Each point: one crash-and-recover run per strategy, same seed, ${threads ? 'on worker threads (the recovery experiment: degradation as `heal demo` reports it)' : 'in the deterministic simulator (virtual ms, no degradation: the simulator charges no CPU)'}; see \`heal recover --help\` for what each column means.`;
    const paths = writeReport(dir, `sweep-${sweep.name}`, doc, `Sweep: ${sweep.summary}`, table, notes);
    if (values['json'] === true) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else process.stdout.write(`${table}\n`);
    process.stderr.write(`heal sweep ${sweep.name}: results in ${dir} (${paths.json}, ${paths.md}, ${chart})\n`);
    return 0;
  },
};
