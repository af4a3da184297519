import assert from 'node:assert/strict';
import { checkHistory } from '../checker/linearizability.js';
import { formatReport } from '../checker/report.js';
import type { SimCluster } from './sim-cluster.js';

/** The run's history is linearizable; on failure the report names the smallest failing key. */
export function assertLinearizable(cluster: SimCluster): void {
  assert.ok(cluster.history, 'the cluster records a history');
  const result = checkHistory(cluster.history.history());
  assert.equal(result.ok, true, `history is not linearizable:\n${formatReport(result)}`);
}

/** After quiescence every live replica holds identical data. */
export function assertSettledAndEqual(cluster: SimCluster, limitMs = 2000): void {
  if (!cluster.settle(limitMs)) {
    const states = cluster
      .liveReplicas()
      .map((r) => `${r.self}: ${JSON.stringify(r.stats())}`)
      .join('\n');
    assert.fail(`replicas did not settle within ${limitMs} virtual ms:\n${states}`);
  }
  const verdict = cluster.verify();
  assert.ok(verdict.equal, `replicas differ:\n${verdict.differences.join('\n')}`);
}
