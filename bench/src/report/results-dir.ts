import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Where an experiment's results go (issue 7): `./heal-results/<timestamp>/` under the current
 * directory, or `--out DIR` when given. Created; the caller prints the path.
 */
export function resultsDir(out: unknown, now = new Date()): string {
  const dir = typeof out === 'string' ? resolve(out) : join(process.cwd(), 'heal-results', now.toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dir, { recursive: true });
  return dir;
}
