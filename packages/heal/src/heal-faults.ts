import type { StrategyOptions } from '@heal/kv/replica';

/**
 * Test-only breakages of HEAL (strategy option `testFault`), each one rule of HEAL
 * left out, to prove the simulation suites catch a broken recovery. Never set outside tests.
 */
export interface HealFaults {
  /** The Buddy leaves the last selected entry out of the stream. */
  readonly skipSelected: boolean;
  /** Replicas send the Buddy no handoff of the writes that were not at DP. */
  readonly omitHandoff: boolean;
  /** The joiner's version vector counts as covering one write more than it does, per interval. */
  readonly vvOverclaim: boolean;
  /** The Merkle descent drops the first differing bucket it found. */
  readonly descentSkipsBucket: boolean;
}

export const HEAL_TEST_FAULTS = [
  'skip-selected',
  'omit-handoff',
  'vv-overclaim',
  'descent-skips-bucket',
] as const;
export type HealTestFault = (typeof HEAL_TEST_FAULTS)[number];

/** The faults the `testFault` option names (none by default); an unknown name is a RangeError. */
export function healFaults(options: StrategyOptions): HealFaults {
  const fault = options['testFault'];
  if (fault !== undefined && !(HEAL_TEST_FAULTS as readonly unknown[]).includes(fault)) {
    throw new RangeError(
      `heal option testFault must be one of ${HEAL_TEST_FAULTS.join('|')}, got ${JSON.stringify(fault)}`,
    );
  }
  return {
    skipSelected: fault === 'skip-selected',
    omitHandoff: fault === 'omit-handoff',
    vvOverclaim: fault === 'vv-overclaim',
    descentSkipsBucket: fault === 'descent-skips-bucket',
  };
}
