import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import type { RecoveryOutcome, SimCluster } from './sim-cluster.js';

/** Virtual time a recovery scenario runs before its crash, and after the recovery it measured. */
export const SCENARIO_MARGIN_MS = 20;

/** Runs `beforeMs`, crashes `victim`, keeps it down for `outageMs` and restarts it. */
export function crashAndRestart(
  cluster: SimCluster,
  victim: ActorId,
  outageMs: number,
  beforeMs = SCENARIO_MARGIN_MS,
): void {
  cluster.sim.runFor(beforeMs);
  cluster.crash(victim);
  cluster.sim.runFor(outageMs);
  cluster.restart(victim);
}

/**
 * crashAndRestart, then runs until `victim` serves reads (at most `limitMs`, else throws) and
 * SCENARIO_MARGIN_MS more; returns what its recovery reported.
 */
export function crashAndRecover(
  cluster: SimCluster,
  victim: ActorId,
  outageMs: number,
  limitMs = 3000,
): RecoveryOutcome {
  crashAndRestart(cluster, victim, outageMs);
  const outcome = cluster.recover(victim, limitMs);
  cluster.sim.runFor(SCENARIO_MARGIN_MS);
  return outcome;
}

/**
 * A recovery report is whole: `strategy` named, every one of `phases` present and the phases
 * adding up to recoveryMs, bytes moved, no more entries applied than received, and writes
 * missed during the outage (the scenario ran under load).
 */
export function assertRecoveryReport(
  outcome: RecoveryOutcome,
  strategy: string,
  phases: readonly string[],
): void {
  assert.equal(outcome.strategy, strategy);
  for (const phase of phases)
    assert.ok(phase in outcome.phasesMs, `phase ${phase} in ${JSON.stringify(outcome.phasesMs)}`);
  const phaseSum = Object.values(outcome.phasesMs).reduce((a, b) => a + b, 0);
  assert.ok(
    Math.abs(phaseSum - outcome.recoveryMs) < 1e-6,
    `phases add up to recoveryMs: ${JSON.stringify(outcome)}`,
  );
  assert.ok(outcome.bytesMoved > 0, 'bytes moved');
  assert.ok(outcome.entriesReceived >= outcome.entriesApplied, 'applied entries were received');
  assert.ok(outcome.missedWrites > 0, 'writes went on during the outage');
}
