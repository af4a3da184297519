import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OptionTable } from '../cli/command.js';

/** A run's results go into a folder of its own under this one, in the current directory. */
const RESULTS_ROOT = 'heal-results';
/** Where a run's results go by default, as help shows it. */
export const RESULTS_DIR_HELP = `./${RESULTS_ROOT}/<timestamp>/`;
/** `bench/results`, the committed results, found from this module's own location (bench/dist/src/report). */
export const BENCH_RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../results');
/** `BENCH_RESULTS_DIR` as help shows it. */
export const BENCH_RESULTS_NAME = 'bench/results';

/**
 * The output options of a measuring command that writes `files` (e.g. `kv.json and kv.md`);
 * `published` is where `--publish` puts them, as help shows it.
 */
export function outputOptions(files: string, published = `${BENCH_RESULTS_NAME}/`): OptionTable {
  return {
    out: { type: 'string', arg: 'DIR', help: `where ${files} go`, default: RESULTS_DIR_HELP },
    publish: {
      type: 'boolean',
      help: `write them to ${published} instead (the committed results)`,
      excludes: ['out'],
    },
    json: { type: 'boolean', help: 'print one JSON document on stdout (progress goes to stderr)' },
  };
}

/**
 * Where a run's results go: `--out DIR` when given; `published` (a folder of bench/results, the
 * committed results) with `--publish`; otherwise `./heal-results/<timestamp>/` under the current
 * directory, so that rerunning a benchmark changes no tracked file unless asked to. Created; the
 * caller prints the path.
 */
export function resultsDir(
  values: Readonly<Record<string, unknown>>,
  published: string,
  now = new Date(),
): string {
  const out = values['out'];
  const publish = values['publish'] === true;
  assert(!(publish && out !== undefined), 'the option table makes --publish exclude --out');
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const dir = publish
    ? published
    : typeof out === 'string'
      ? resolve(out)
      : join(process.cwd(), RESULTS_ROOT, stamp);
  mkdirSync(dir, { recursive: true });
  return dir;
}
