import { readFileSync } from 'node:fs';
import {
  HistoryError,
  checkHistory,
  formatReport,
  parseHistory,
  type CheckResult,
} from '@heal/kv/checker';
import type { Command } from '../cli/command.js';
import { UsageError } from '../cli/command.js';
import { intFlag } from '../cli/flags.js';
import { makeDocument } from '../report/document.js';

/** Exit status when the budget (--timeout-ms, --max-steps) ran out before a verdict. */
export const EXIT_UNKNOWN = 3;

/** The row of `heal check --json`; field names are read by scripts, keep them stable. */
export interface CheckRow {
  ok: boolean;
  verdict: 'ok' | 'illegal' | 'unknown';
  keys: number;
  operations: number;
  failingKey?: string;
  failingKeys: number;
  unknownKeys: number;
  /** The smallest failing key: the index in `operations` of the operation that cannot be placed. */
  stuckOperation?: number;
  explanation?: string;
  steps: number;
  /** Reading, parsing, validating and checking the file. */
  elapsedMs: number;
}

function toRow(r: CheckResult, elapsedMs: number): CheckRow {
  const row: CheckRow = {
    ok: r.ok,
    verdict: r.verdict,
    keys: r.keys,
    operations: r.operations,
    failingKeys: r.failingKeys.length,
    unknownKeys: r.unknownKeys.length,
    steps: r.steps,
    elapsedMs: Math.round(elapsedMs * 10) / 10,
  };
  const f = r.failure;
  if (f === undefined) return row;
  return {
    ...row,
    failingKey: f.key,
    stuckOperation: f.indices[f.stuck] as number,
    explanation: f.explanation,
  };
}

export const checkCommand: Command = {
  name: 'check',
  summary:
    'check that a history file (JSON) is linearizable; exit 0 yes, 1 no, 2 invalid, 3 undecided',
  about: [
    '<history.json>: {"operations": [{"client", "op": "put"|"get", "key", "value", "call", "return"}, ...]}',
    'Exit status: 0 linearizable, 1 not (the report names the smallest failing key),',
    '2 invalid file or flags (the error says what and where), 3 undecided.',
  ],
  options: {
    json: { type: 'boolean', help: 'print one JSON document on stdout instead of the report' },
    'timeout-ms': {
      type: 'string',
      arg: 'N',
      help: 'give up after N ms: keys not decided are unknown (exit 3)',
    },
    'max-steps': {
      type: 'string',
      arg: 'N',
      help: 'give up on a key after N search steps (deterministic; exit 3)',
    },
  },
  positionals: true,
  run(values, positionals) {
    if (positionals.length !== 1)
      throw new UsageError(`expected one history file, got ${positionals.length} arguments`);
    const file = positionals[0] as string;
    const timeoutMs =
      values['timeout-ms'] === undefined ? undefined : intFlag(values, 'timeout-ms', 0, 0);
    const maxSteps =
      values['max-steps'] === undefined ? undefined : intFlag(values, 'max-steps', 1, 1);
    const started = performance.now();
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      process.stderr.write(`heal check: cannot read ${file}: ${(err as Error).message}\n`);
      return 2;
    }
    let result: CheckResult;
    try {
      const history = parseHistory(text);
      result = checkHistory(history, {
        ...(timeoutMs === undefined ? {} : { timeoutMs, now: () => performance.now() }),
        ...(maxSteps === undefined ? {} : { maxStepsPerKey: maxSteps }),
      });
    } catch (err) {
      if (!(err instanceof HistoryError)) throw err;
      process.stderr.write(`heal check: ${file}: ${err.message}\n`);
      return 2;
    }
    const row = toRow(result, performance.now() - started);
    if (values['json'] === true) {
      const config = { file, timeoutMs: timeoutMs ?? null, maxStepsPerKey: maxSteps ?? null };
      process.stdout.write(`${JSON.stringify(makeDocument('check', config, [row]), null, 2)}\n`);
    } else {
      process.stdout.write(`${file}: ${formatReport(result)}`);
      process.stderr.write(
        `heal check: ${row.operations} operations, ${row.keys} keys, ${row.elapsedMs} ms\n`,
      );
    }
    return result.verdict === 'ok' ? 0 : result.verdict === 'illegal' ? 1 : EXIT_UNKNOWN;
  },
};
