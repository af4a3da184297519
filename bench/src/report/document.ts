import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeMachine, type Machine } from './machine.js';
import { BENCH_RESULTS_DIR, resultsDir } from './results-dir.js';

/** The one result format of every measuring subcommand (bench/results/README.md). */
export interface ResultDocument<Row extends object = Record<string, unknown>> {
  command: string;
  machine: Machine;
  config: Record<string, unknown>;
  results: Row[];
}

export function makeDocument<Row extends object>(
  command: string,
  config: Record<string, unknown>,
  results: Row[],
): ResultDocument<Row> {
  return { command, machine: describeMachine(), config, results };
}

/** Renders rows as a Markdown table; columns in the given order. */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly unknown[])[],
): string {
  const cell = (v: unknown): string => (typeof v === 'number' ? formatNumber(v) : String(v));
  const lines = [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

export function formatNumber(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toPrecision(3);
}

export function machineLine(m: Machine): string {
  return `${m.cpus} CPUs (${m.cpuModel}), ${m.memGiB} GiB, Node ${m.node}, ${m.os}, ${m.gc} GC`;
}

/**
 * Writes `<name>.json` (the document) and `<name>.md` (title, machine, config, table) into
 * `dir`, returning the two paths.
 */
export function writeReport(
  dir: string,
  name: string,
  doc: ResultDocument<object>,
  title: string,
  table: string,
  notes = '',
): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `${name}.json`);
  const md = join(dir, `${name}.md`);
  writeFileSync(json, `${JSON.stringify(doc, null, 2)}\n`);
  const body = [
    `# ${title}`,
    '',
    `Command: \`heal ${doc.command}\`  `,
    `Machine: ${machineLine(doc.machine)}  `,
    `Config: \`${JSON.stringify(doc.config)}\``,
    '',
    table,
    '',
    notes,
  ].join('\n');
  writeFileSync(md, `${body.trimEnd()}\n`);
  return { json, md };
}

/** What a measuring command reports: its rows and how to present them. */
export interface Report<Row extends object> {
  command: string;
  /** File name stem under the output directory: `<name>.json`, `<name>.md`. */
  name: string;
  title: string;
  config: Record<string, unknown>;
  rows: Row[];
  table: string;
  notes: string;
}

/**
 * The common end of every measuring command: writes the JSON and Markdown report (to `--out`,
 * bench/results with `--publish`, else ./heal-results/<timestamp>/), prints the document on stdout with `--json` (else the table and notes),
 * and says on stderr where the files went. `outDir`: the directory the command already wrote
 * other files to (one timestamped directory per run).
 */
export function publishReport<Row extends object>(
  values: Record<string, unknown>,
  report: Report<Row>,
  outDir = resultsDir(values, BENCH_RESULTS_DIR),
): number {
  const doc = makeDocument(report.command, report.config, report.rows);
  const paths = writeReport(outDir, report.name, doc, report.title, report.table, report.notes);
  if (values['json'] === true) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  else process.stdout.write(`${report.table}\n\n${report.notes}\n`);
  process.stderr.write(`heal ${report.command}: wrote ${paths.json} and ${paths.md}\n`);
  return 0;
}
