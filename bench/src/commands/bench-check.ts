import {
  checkHistory,
  parseHistory,
  serializeHistory,
  simulateHistory,
  type History,
} from '@heal/kv';
import type { Command, OptionTable } from '../cli/command.js';
import { intFlag } from '../cli/flags.js';
import { markdownTable, publishReport } from '../report/document.js';
import { outputOptions } from '../report/results-dir.js';

/** One row of `results`: field names are read by scripts, keep them stable. */
export interface CheckBenchRow {
  operations: number;
  clients: number;
  keys: number;
  /** Median wall time of `checkHistory` (validation included) over the repeats. */
  checkMs: number;
  /** Fastest repeat. */
  checkMinMs: number;
  /** Median time to parse and validate the history's JSON text. */
  parseMs: number;
  jsonBytes: number;
  steps: number;
  verdict: string;
  repeats: number;
  seed: number;
}

interface Shape {
  operations: number;
  clients: number;
  keys: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const value = f();
  return [value, performance.now() - t0];
}

function measure(
  shape: Shape,
  seed: number,
  repeats: number,
  progress: (what: string) => void,
): CheckBenchRow {
  progress(
    `simulating ${shape.operations} operations, ${shape.clients} clients, ${shape.keys} keys (seed ${seed})`,
  );
  const history: History = simulateHistory({ seed, ...shape });
  const text = serializeHistory(history);
  const checkMs: number[] = [];
  const parseMs: number[] = [];
  let steps = 0;
  let verdict = '';
  for (let i = 0; i < repeats; i++) {
    const [parsed, p] = timed(() => parseHistory(text));
    const [result, c] = timed(() => checkHistory(parsed));
    parseMs.push(p);
    checkMs.push(c);
    steps = result.steps;
    verdict = result.verdict;
    progress(`repeat ${i + 1}/${repeats}: parse ${round(p)} ms, check ${round(c)} ms (${verdict})`);
  }
  return {
    ...shape,
    checkMs: round(median(checkMs)),
    checkMinMs: round(Math.min(...checkMs)),
    parseMs: round(median(parseMs)),
    jsonBytes: Buffer.byteLength(text),
    steps,
    verdict,
    repeats,
    seed,
  };
}

function table(rows: readonly CheckBenchRow[]): string {
  return markdownTable(
    [
      'operations',
      'clients',
      'keys',
      'check ms (median)',
      'check ms (min)',
      'parse ms',
      'JSON bytes',
      'search steps',
      'verdict',
    ],
    rows.map((r) => [
      r.operations,
      r.clients,
      r.keys,
      r.checkMs,
      r.checkMinMs,
      r.parseMs,
      r.jsonBytes,
      r.steps,
      r.verdict,
    ]),
  );
}

const NOTES = [
  '- Histories come from `simulateHistory` (packages/kv): a seeded simulation of a linearizable',
  '  register store with random concurrency and some equal ticks; every put writes a unique value.',
  '- `check ms` is `checkHistory` on the parsed history (validation, per-key split, search);',
  '  `parse ms` is `parseHistory` on the JSON text. `heal check file.json` pays both.',
  '- The single-key row is the robustness case: every operation on one register.',
  '- The machine is shared with other work; figures are medians, and still noisy.',
].join('\n');

const OPTIONS = {
  operations: { type: 'string', arg: 'N', help: 'operations per history', default: 100_000 },
  clients: { type: 'string', arg: 'N', help: 'concurrent clients', default: 16 },
  keys: {
    type: 'string',
    arg: 'N',
    help: 'keys in the main history (a 1-key history is timed too)',
    default: 1000,
  },
  repeats: { type: 'string', arg: 'N', help: 'timed runs per history', default: 5 },
  seed: { type: 'string', arg: 'N', help: 'simulation seed', default: 1 },
} as const satisfies OptionTable;

export const benchCheckCommand: Command = {
  name: 'bench check',
  summary: 'time the linearizability checker on a simulated 100k-operation history',
  options: { ...OPTIONS, ...outputOptions('check.json and check.md') },
  run(values) {
    const operations = intFlag(values, 'operations', OPTIONS.operations.default, 1, 10_000_000);
    const clients = intFlag(values, 'clients', OPTIONS.clients.default, 1, 10_000);
    const keys = intFlag(values, 'keys', OPTIONS.keys.default, 1, 10_000_000);
    const repeats = intFlag(values, 'repeats', OPTIONS.repeats.default, 1, 100);
    const seed = intFlag(values, 'seed', OPTIONS.seed.default, 0);
    const progress = (what: string): void =>
      void process.stderr.write(`heal bench check: ${what}\n`);
    const shapes: Shape[] = [{ operations, clients, keys }];
    if (keys !== 1) shapes.push({ operations, clients, keys: 1 });
    const rows = shapes.map((shape) => measure(shape, seed, repeats, progress));
    publishReport(values, {
      command: 'bench check',
      name: 'check',
      title: 'Linearizability checker: time to check a simulated history',
      config: { operations, clients, keys, repeats, seed },
      rows,
      table: table(rows),
      notes: NOTES,
    });
    return rows.every((r) => r.verdict === 'ok') ? 0 : 1;
  },
};
