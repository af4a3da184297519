import { join } from 'node:path';
import type { Command } from '../cli/command.js';
import { UsageError } from '../cli/command.js';
import { recoveryLatencyChart, writeChart } from '../report/charts.js';
import { formatNumber, makeDocument, markdownTable, writeReport } from '../report/document.js';
import { resultsDir } from '../report/results-dir.js';
import type { RecoverRow } from '../recover/run-sim-recover.js';
import { SWEEP_NAMES, SWEEPS } from '../sweep/sweeps.js';
import { parseRecoverConfig, recoverCommand } from './recover.js';

interface SweepRow extends RecoverRow {
  sweep: string;
  x: number | string;
}

export const sweepCommand: Command = {
  name: 'sweep',
  summary: `recovery of every strategy across one dimension (${SWEEP_NAMES.join(', ')})`,
  usage: [
    `  heal sweep <name>      one of: ${SWEEPS.map((s) => `${s.name} (${s.summary})`).join(', ')}`,
    '  Every point runs `heal recover` for each strategy on the same seed; the other flags are heal',
    '  recover\'s (defaults for sweeps: --keys 20000 --outage-ms 1000 --replicas 6 --medium pmem).',
    recoverCommand.usage.replace('--out DIR               where recover.json and recover.md go (default bench/results)',
      '--out DIR               where the results go (default ./heal-results/<timestamp>/)'),
  ].join('\n'),
  options: recoverCommand.options,
  positionals: true,
  async run(values, positionals) {
    const [name, ...rest] = positionals;
    const sweep = SWEEPS.find((s) => s.name === name);
    if (!sweep || rest.length > 0) throw new UsageError(`heal sweep needs one sweep name: ${SWEEP_NAMES.join('|')}, got ${positionals.join(' ') || 'none'}`);
    const base = parseRecoverConfig({ keys: '20000', 'outage-ms': '1000', ...values });
    if (base.runtime === 'threads') throw new UsageError('--runtime threads: sweeps run in the simulator for now (issue 7); use --runtime sim');
    const { runSimRecover } = await import('../recover/run-sim-recover.js');
    const points = sweep.points(base);
    const rows: SweepRow[] = [];
    // Progress lines only for a person watching (a terminal); the results path is always printed.
    const say = process.stderr.isTTY ? (line: string): void => { process.stderr.write(line); } : (): void => {};
    for (const [i, point] of points.entries()) {
      const config = { ...base, ...point.change, victim: Math.min(base.victim, (point.change.replicas ?? base.replicas) - 1) };
      say(`heal sweep ${sweep.name}: point ${i + 1}/${points.length}: ${sweep.xLabel} = ${point.x}\n`);
      for (const row of runSimRecover(config, (line) => say(`  ${line}\n`))) rows.push({ sweep: sweep.name, x: point.x, ...row });
    }
    const dir = resultsDir(values['out']);
    const doc = makeDocument(`sweep ${sweep.name}`, { ...base, sweep: sweep.name, points: points.map((p) => p.x) }, rows);
    const table = markdownTable(
      [sweep.xLabel, 'strategy', 'recovery ms', 'missed keys', 'missed bytes', 'bytes moved', 'latency vs heal'],
      rows.map((r) => {
        const heal = rows.find((h) => h.x === r.x && h.strategy === 'heal');
        return [r.x, r.strategy, r.recoveryMs, r.missedKeys, r.missedBytes, r.bytesMoved,
          heal && heal.recoveryMs > 0 ? `${formatNumber(r.recoveryMs / heal.recoveryMs)}x` : '-'];
      }),
    );
    const chart = join(dir, `sweep-${sweep.name}.svg`);
    writeChart(chart, await recoveryLatencyChart({
      title: `Recovery latency by ${sweep.xLabel} (${base.runtime}, virtual ms)`, xLabel: sweep.xLabel,
      points: rows.map((r) => ({ x: r.x, strategy: r.strategy, recoveryMs: Math.max(r.recoveryMs, 0.001) })),
    }));
    const notes = `Chart: ![recovery latency](sweep-${sweep.name}.svg). Each point: one crash-and-recover run per strategy in the deterministic simulator (virtual ms); see \`heal recover --help\` for what each column means.`;
    const paths = writeReport(dir, `sweep-${sweep.name}`, doc, `Sweep: ${sweep.summary}`, table, notes);
    if (values['json'] === true) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else process.stdout.write(`${table}\n`);
    process.stderr.write(`heal sweep ${sweep.name}: results in ${dir} (${paths.json}, ${paths.md}, ${chart})\n`);
    return 0;
  },
};
