import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** A run's results go into a folder of its own under this one, in the current directory. */
const RESULTS_ROOT = 'heal-results';
/** Where `resultsDir` puts a run's results, as help shows it. */
export const RESULTS_DIR_HELP = `./${RESULTS_ROOT}/<timestamp>/`;

/**
 * Where an experiment's results go (issue 7): `./heal-results/<timestamp>/` under the current
 * directory, or `--out DIR` when given. Created; the caller prints the path.
 */
export function resultsDir(out: unknown, now = new Date()): string {
  const dir = typeof out === 'string' ? resolve(out) : join(process.cwd(), RESULTS_ROOT, now.toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dir, { recursive: true });
  return dir;
}
