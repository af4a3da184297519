import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEAL_TEST_FAULTS } from '../src/index.js';
import { runScenario, SCENARIOS, type BrokenVariant } from './fault-scenarios.js';

/**
 * The fault suites can fail: each deliberately broken HEAL is caught (the history is not
 * linearizable, or the settled replicas differ) by one of the suites' scenarios within the
 * first MAX_SEEDS seeds. A variant that survives them all fails this test.
 */
const MAX_SEEDS = 60;
const VARIANTS: readonly BrokenVariant[] = [...HEAL_TEST_FAULTS, 'shadow-serves-read'];

for (const variant of VARIANTS) {
  test(`a broken HEAL (${variant}) is caught by the fault suites`, (t) => {
    for (let seed = 1; seed <= MAX_SEEDS; seed++) {
      for (const [name, scenario] of Object.entries(SCENARIOS)) {
        try {
          runScenario(seed, scenario, { fault: variant });
        } catch (err) {
          const message = (err as Error).message;
          assert.match(
            message,
            /not linearizable|replicas differ/,
            `caught for the right reason (${name}, seed ${seed})`,
          );
          t.diagnostic(`caught at seed ${seed} by '${name}': ${message.split('\n')[0]}`);
          return;
        }
      }
    }
    assert.fail(`${variant} survived ${MAX_SEEDS} seeds of every scenario`);
  });
}
