import { randomInt } from 'node:crypto';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Seeds for a simulation suite: `HEAL_SEED=n` runs exactly seed n (to replay a failure);
 * `HEAL_SEEDS=k` runs k seeds instead of the suite's default count.
 */
export function suiteSeeds(defaultCount: number, env: NodeJS.ProcessEnv = process.env): number[] {
  const one = env['HEAL_SEED'];
  if (one !== undefined) {
    const seed = Number(one);
    if (!Number.isInteger(seed)) throw new RangeError(`HEAL_SEED must be an integer, got ${one}`);
    return [seed];
  }
  const many = env['HEAL_SEEDS'];
  const count = many === undefined ? defaultCount : Number(many);
  if (!Number.isInteger(count) || count <= 0)
    throw new RangeError(`HEAL_SEEDS must be a positive integer, got ${many}`);
  return Array.from({ length: count }, (_, i) => i + 1);
}

/** The shell command that replays one seed of one test. */
export function replayCommand(testName: string, testFileUrl: string, seed: number): string {
  const file = relative(process.cwd(), fileURLToPath(testFileUrl));
  const pattern = testName.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&').replace(/'/g, "'\\''");
  return `HEAL_SEED=${seed} node --test --test-name-pattern='${pattern}' ${file}`;
}

/** Random seeds are drawn above the numbered ones, so they never repeat a numbered run. */
export const RANDOM_SEED_MIN = 1_000_000;

/**
 * Runs `body` for every seed of the suite; the first failure is rethrown with the seed and the
 * command that replays it, so a red CI run can be reproduced exactly. `test` is the running
 * test's context (its name selects it again on replay). With `randomSeed`, one seed drawn at
 * random runs too (unless HEAL_SEED names one), and the test's output says which.
 */
export async function forEachSeed(
  test: { readonly name: string; diagnostic?(message: string): void },
  testFileUrl: string,
  defaultCount: number,
  body: (seed: number) => void | Promise<void>,
  options: { randomSeed?: boolean } = {},
): Promise<void> {
  const seeds = suiteSeeds(defaultCount);
  if (options.randomSeed === true && process.env['HEAL_SEED'] === undefined) {
    const seed = randomInt(RANDOM_SEED_MIN, 2 ** 31);
    seeds.push(seed);
    test.diagnostic?.(
      `random seed ${seed}; replay: ${replayCommand(test.name, testFileUrl, seed)}`,
    );
  }
  for (const seed of seeds) {
    try {
      await body(seed);
    } catch (err) {
      const cause = err instanceof Error ? err : new Error(String(err));
      const failure = new Error(
        `seed=${seed} failed: ${cause.message}\nreplay: ${replayCommand(test.name, testFileUrl, seed)}`,
        { cause },
      );
      failure.stack = `${failure.message}\n${cause.stack ?? ''}`;
      throw failure;
    }
  }
}
