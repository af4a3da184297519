/** What ring-stress.test.ts and ring-stress-worker.ts share: control words and messages. */
import type { RingStats } from '../src/index.js';

/** Int32 indices into the control buffer shared with the test. */
export const kCtlReceived = 0;
export const kCtlSleeps = 1;
export const kCtlWords = 16;

export interface StressWorkerData {
  role: 'producer' | 'consumer';
  ringSab: SharedArrayBuffer;
  doorbellSab: SharedArrayBuffer;
  controlSab: SharedArrayBuffer;
  seed: number;
  /** Producer: the epoch it stamps (a restarted producer uses a new one, from seq 0). */
  epoch: number;
  streamRecords: number;
  burstRecords: number;
  /** Consumer: done after this many records of this epoch. */
  finalEpoch: number;
  finalRecords: number;
}

export interface StressReport {
  role: 'producer' | 'consumer';
  /** Consumer: records received per epoch, in order of arrival. */
  epochs: { epoch: number; records: number }[];
  sleeps: number;
  /** Consumer: parks that ran out their time although a record had been published (a lost wake-up). */
  lateWakes: number;
  stats: RingStats;
}
