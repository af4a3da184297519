/**
 * `@heal/kv/checker`: histories (recording, parsing, validation), the linearizability checker
 * and its reports, and the history simulator that tests it.
 */
export {
  HistoryError,
  parseHistory,
  serializeHistory,
  validateHistory,
} from './checker/history.js';
export type { GetOperation, History, Operation, PutOperation } from './checker/history.js';
export { HistoryRecorder, INITIAL_CLIENT, RECORDER_MAX_OPERATIONS } from './checker/recorder.js';
export { checkHistory, isLinearizable } from './checker/linearizability.js';
export type { CheckOptions, CheckResult, KeyFailure, Verdict } from './checker/linearizability.js';
export { formatReport, formatFailure, showValue } from './checker/report.js';
export { simulateHistory } from './checker/simulate.js';
export type { SimulationOptions } from './checker/simulate.js';
