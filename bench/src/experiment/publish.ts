import { join, relative } from 'node:path';
import { machineLine } from '../report/document.js';
import { describeMachine } from '../report/machine.js';
import { BENCH_RESULTS_DIR, resultsDir } from '../report/results-dir.js';
import type { ExperimentConfig } from './config.js';
import { experimentWorkload } from './options.js';
import { progressLine } from './progress.js';
import {
  compareToHeal,
  experimentNotes,
  experimentTable,
  goalsSection,
  paperTable,
  timelineTable,
  writeExperiment,
} from './report.js';
import { runExperiment } from './run-experiment.js';

export interface ExperimentInvocation {
  /** The `heal` subcommand (the document's `command`) and the stem of its files. */
  command: string;
  title: string;
  config: ExperimentConfig;
  /** The command's parsed flags (`--json`, `--out`). */
  values: Record<string, unknown>;
}

/**
 * Runs the experiment with a progress line on a terminal, writes `<command>.json`, `.md` and
 * `throughput.svg` under `--out`, bench/results/<command>/ (`--publish`) or
 * `./heal-results/<timestamp>/`, and prints the document
 * (`--json`) or the table, the published figures, the goals and the notes; then the path.
 */
export async function runAndPublish(run: ExperimentInvocation): Promise<number> {
  const { config } = run;
  const workload = experimentWorkload(config);
  const valueBytes = workload.datasetValueBytes(0);
  const progress = progressLine(run.command);
  const rows = compareToHeal(await runExperiment(config, progress.update).finally(progress.done));
  const dir = resultsDir(run.values, join(BENCH_RESULTS_DIR, run.command));
  const table = `${timelineTable(rows)}\n\n${experimentTable(rows)}\n\nPublished figures, for reference:\n\n${paperTable()}`;
  const machine = describeMachine();
  // Replica workers, load generators and the driver's thread.
  const goals = goalsSection(rows, {
    threads: config.replicas + config.clients + 1,
    cpus: machine.cpus,
  });
  const notes = [goals, experimentNotes(config, rows, valueBytes)]
    .filter((s) => s !== '')
    .join('\n\n');
  const docConfig = {
    runtime: 'threads',
    ...config,
    valueBytes,
    workloadParams: workload.describe(),
  };
  const chartTitle = `Completed operations per second while one of ${config.replicas} replicas fails and recovers (${config.workload}, ${config.medium}, ${config.model})`;
  const written = await writeExperiment(dir, run.command, run.command, run.title, docConfig, rows, {
    table,
    notes,
    chartTitle,
  });
  const where = `heal ${run.command}: results in ${relative(process.cwd(), dir) || '.'}/ (${run.command}.json, ${run.command}.md, throughput.svg)`;
  if (run.values['json'] === true) {
    process.stdout.write(`${JSON.stringify(written.doc, null, 2)}\n`);
    process.stderr.write(`${where}\n`);
  } else {
    process.stdout.write(
      `${run.title}\nMachine: ${machineLine(machine)}\n\n${table}\n\n${notes}\n\n${where}\n`,
    );
  }
  return 0;
}
