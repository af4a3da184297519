/**
 * The fields every recovery run reports, in either runtime (DESIGN section 6 names: tools read
 * them, so they are defined once).
 */
export interface RecoveryRowFields {
  strategy: string;
  recoveryMs: number;
  phasesMs: Record<string, number>;
  missedKeys: number;
  missedWrites: number;
  missedBytes: number;
  bytesMoved: number;
  entriesReceived: number;
  entriesApplied: number;
  counts: Record<string, number>;
}
