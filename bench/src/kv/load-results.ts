import { latencyPercentileUs, mergeLatencies } from '../demo/histogram.js';
import type { KvLoadResult } from './kv-load-task.js';

/** The load generators' results added up: operation counts and latency percentiles. */
export interface LoadTotals {
  ops: number;
  reads: number;
  writes: number;
  errors: number;
  /** Operations by the replica that served them. */
  opsByReplica: number[];
  p50Us: number;
  p99Us: number;
}

export function totalLoad(results: readonly KvLoadResult[]): LoadTotals {
  const latency = mergeLatencies(results.map((r) => r.latencyUs));
  const totals = { ops: 0, reads: 0, writes: 0, errors: 0, opsByReplica: [] as number[] };
  for (const r of results) {
    r.opsByReplica.forEach((ops, replica) => {
      totals.opsByReplica[replica] = (totals.opsByReplica[replica] ?? 0) + ops;
    });
    totals.ops += r.ops;
    totals.reads += r.reads;
    totals.writes += r.writes;
    totals.errors += r.errors;
  }
  return {
    ...totals,
    p50Us: latencyPercentileUs(latency, 50),
    p99Us: latencyPercentileUs(latency, 99),
  };
}
