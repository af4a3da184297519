/** What every closed-loop load over a thread cluster takes (bench kv, bench models). */
export interface LoadConfig {
  keys: number;
  valueBytes: number;
  /** Piscina load generators, one client each. */
  clients: number;
  /** Operations in flight per client. */
  window: number;
  warmupMs: number;
  durationMs: number;
  seed: number;
}
