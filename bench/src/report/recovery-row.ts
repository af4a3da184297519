/**
 * The fields every recovery run reports, in either runtime (tools read these
 * names, so they are defined once; bench/results/README.md lists the reports).
 */
export interface RecoveryRowFields {
  strategy: string;
  recoveryMs: number;
  phasesMs: Record<string, number>;
  /** CPU the recovering replica used from its restart to serving reads (ms); null where the runtime measures none. */
  recoveryCpuMs: number | null;
  missedKeys: number;
  missedWrites: number;
  missedBytes: number;
  bytesMoved: number;
  entriesReceived: number;
  entriesApplied: number;
  counts: Record<string, number>;
}
