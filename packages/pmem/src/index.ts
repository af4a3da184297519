/** @heal/pmem: emulated persistent memory (ARCHITECTURE.md §5 Durability, media). */
export { crc32c, crc32cUpdate } from './checksum.js';
export { type CrashMode, type CrashOptions, type CrashReport } from './crash.js';
export { CorruptionError, PmemError, type PmemErrorCode } from './errors.js';
export { LINE_BYTES, REGION_BYTES_MAX, WORD_BYTES } from './geometry.js';
export {
  LATENCY_OFF,
  LatencyModel,
  OPTANE_LATENCY,
  performanceClock,
  type LatencyConfig,
  type MonotonicClock,
} from './latency-model.js';
export { META_BYTES_MIN, PMeta, type MetaValue } from './meta.js';
export {
  PLOG_MAX_RECORD_BYTES_DEFAULT,
  PLog,
  type PLogOptions,
  type PLogRecord,
  type PLogRecovery,
} from './plog.js';
export { PTable, type PTableRecovery } from './ptable.js';
export {
  RecordState,
  type Fingerprint,
  type PTableHead,
  type PTableRecord,
  type PTableWrite,
  type Timestamp,
} from './ptable-record.js';
export { type CorruptSlot } from './ptable-slots.js';
export {
  FINGERPRINT_BUCKETS_MAX,
  SPARE_SLOTS,
  type PTableLayout,
  type ResolvedLayout,
} from './ptable-layout.js';
export {
  DURABILITIES,
  PmemRegion,
  SimulatedCrash,
  type ArmedCrashOptions,
  type Durability,
  type OpenOptions,
  type RegionOptions,
  type RegionStats,
} from './region.js';
export { DURABLE_PAGE_LINES, DurableImage, ImageBase } from './durable-image.js';
