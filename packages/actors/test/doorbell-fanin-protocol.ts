/** What doorbell-fanin.test.ts and doorbell-fanin-worker.ts share: control words and messages. */

/** Int32 indices into the control buffer. */
export const kFaninCtlSleeps = 0;
export const kFaninCtlWords = 16;

export interface FaninWorkerData {
  role: 'producer' | 'consumer';
  ringSabs: SharedArrayBuffer[];
  doorbellSab: SharedArrayBuffer;
  controlSab: SharedArrayBuffer;
  seed: number;
  /** Producer: which ring it writes (and the epoch it stamps). */
  index: number;
  /** Records per producer. */
  records: number;
}

export interface FaninReport {
  /** Consumer: records received per ring. */
  received: number[];
  /** Consumer: how many times it went to sleep. */
  sleeps: number;
}
