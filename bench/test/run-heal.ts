import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Test files run from bench/dist/test/; the repository root is three levels up.
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HEAL = fileURLToPath(new URL('../../bin/heal.js', import.meta.url));

export interface HealRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A `heal` run taking longer than this is killed (a hang fails its test instead of the suite). */
export const HEAL_RUN_TIMEOUT_MS = 120_000;

/** Runs the `heal` command as a user would, from the repository root. */
export function heal(...args: string[]): Promise<HealRun> {
  return healWithEnv({}, ...args);
}

/** `heal` with these environment variables added to the test's own. */
export function healWithEnv(env: Record<string, string>, ...args: string[]): Promise<HealRun> {
  return spawnHeal(ROOT, env, args);
}

/** `heal` run from the directory `cwd` (where ./heal-results/ goes). */
export function healIn(cwd: string, ...args: string[]): Promise<HealRun> {
  return spawnHeal(cwd, {}, args);
}

function spawnHeal(
  cwd: string,
  env: Record<string, string>,
  args: readonly string[],
): Promise<HealRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HEAL, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: HEAL_RUN_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
