/**
 * A readable report of a check: the verdict and, for a failure, the smallest failing key with
 * its operations in call order, the longest linearizable prefix found and the operation that
 * could not be placed after it.
 */
import type { Operation } from './history.js';
import type { CheckResult, KeyFailure } from './linearizability.js';

/** Bound on operations listed for the failing key; longer keys are cut around the failure. */
export const REPORT_MAX_LISTED_OPERATIONS = 200;

/** `"a"` for a value, `absent` for null (so `"null"` and absent never look alike). */
export function showValue(v: string | null): string {
  return v === null ? 'absent' : JSON.stringify(v);
}

export function formatReport(result: CheckResult): string {
  const head = `${result.operations} operations on ${result.keys} keys`;
  if (result.verdict === 'ok') return `linearizable: ${head}\n`;
  const lines: string[] = [];
  if (result.verdict === 'unknown') {
    lines.push(
      `unknown: ${head}; the budget ran out on ${result.unknownKeys.length} key(s): ${listKeys(result.unknownKeys)}`,
    );
    return `${lines.join('\n')}\n`;
  }
  const n = result.failingKeys.length;
  lines.push(
    `NOT linearizable: ${head}; ${n} failing key(s)${n > 1 ? `: ${listKeys(result.failingKeys)}` : ''}`,
  );
  if (result.unknownKeys.length > 0)
    lines.push(`(${result.unknownKeys.length} key(s) undecided: budget ran out)`);
  if (result.failure !== undefined) lines.push('', ...formatFailure(result.failure));
  return `${lines.join('\n')}\n`;
}

function listKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, 10).map((k) => JSON.stringify(k));
  return keys.length > 10 ? `${shown.join(', ')}, ...` : shown.join(', ');
}

/** The lines describing one failing key. */
export function formatFailure(f: KeyFailure): string[] {
  const lines = [
    `key ${JSON.stringify(f.key)} (${f.operations.length} operations), in call order:`,
  ];
  const table: string[][] = [['#', 'operations[i]', 'client', 'op', 'value', 'call', 'return']];
  const shown = pickShown(f);
  let last = -1;
  for (const p of shown) {
    if (p !== last + 1) table.push(['...', '', '', '', '', '', '']);
    last = p;
    const o = f.operations[p] as Operation;
    const mark =
      p === f.stuck
        ? ' <- cannot be placed'
        : o.return === null && o.op === 'get'
          ? ' (no response: ignored)'
          : o.return === null
            ? ' (no response: may or may not apply)'
            : '';
    table.push([
      `#${p}`,
      `[${f.indices[p]}]`,
      String(o.client),
      o.op,
      showValue(o.value),
      String(o.call),
      `${o.return === null ? 'none' : o.return}${mark}`,
    ]);
  }
  if (last !== f.operations.length - 1) table.push(['...', '', '', '', '', '', '']);
  lines.push(...alignColumns(table).map((l) => `  ${l}`));
  if (f.searched) {
    const steps = f.prefix.map((p) => describeOp(f, p));
    const cut =
      steps.length > 12
        ? [...steps.slice(0, 3), `... (${steps.length - 9} more)`, ...steps.slice(-6)]
        : steps;
    lines.push(
      `longest linearizable prefix found (${f.prefix.length} of ${f.operations.length} operations, in linearization order):`,
    );
    lines.push(`  ${cut.length === 0 ? '(empty)' : cut.join(' -> ')}`);
    lines.push(`  register after it: ${showValue(f.valueAfterPrefix)}`);
  }
  lines.push(`cannot place ${describeOp(f, f.stuck)}: ${f.explanation}`);
  return lines;
}

function describeOp(f: KeyFailure, p: number): string {
  const o = f.operations[p] as Operation;
  return `#${p} ${o.op} ${showValue(o.value)}`;
}

/** Positions to list: all when few, else the first few, the prefix tail and the stuck one. */
function pickShown(f: KeyFailure): number[] {
  const n = f.operations.length;
  if (n <= REPORT_MAX_LISTED_OPERATIONS) return Array.from({ length: n }, (_, i) => i);
  const keep = new Set<number>();
  const half = Math.floor(REPORT_MAX_LISTED_OPERATIONS / 2);
  for (let i = 0; i < 10; i++) keep.add(i);
  const from = Math.max(0, f.stuck - half);
  for (let i = from; i < Math.min(n, from + REPORT_MAX_LISTED_OPERATIONS - 10); i++) keep.add(i);
  return [...keep].sort((a, b) => a - b);
}

function alignColumns(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd(),
  );
}
