import type { CrashableStorage } from '@heal/actors/core';
import type { KeyRecord, KvStorage } from '@heal/kv/replica';

/**
 * A medium that does what `inner` does and tells `spent` the time (of `clock`, ns) each of its
 * operations took, a lazy iteration's each step as it is taken: what a calibration takes out of
 * the time of the code around it. A crash reaches `inner` when it can be told.
 */
export function timedStorage(
  inner: KvStorage,
  clock: () => number,
  spent: (ns: number) => void,
): KvStorage {
  const timed = <T>(fn: () => T): T => {
    const t0 = clock();
    const out = fn();
    spent(clock() - t0);
    return out;
  };
  function* steps(records: IterableIterator<KeyRecord>): IterableIterator<KeyRecord> {
    for (;;) {
      const next = timed(() => records.next());
      if (next.done === true) return;
      yield next.value;
    }
  }
  const storage: KvStorage & Partial<CrashableStorage> = {
    medium: inner.medium,
    get size() {
      return inner.size;
    },
    get: (key) => timed(() => inner.get(key)),
    records: () => steps(timed(() => inner.records())),
    recordsInBuckets: (buckets) => steps(timed(() => inner.recordsInBuckets(buckets))),
    notValid: () => timed(() => inner.notValid()),
    loadDigest: () => timed(() => inner.loadDigest()),
    openReport: () => inner.openReport(),
    write: (record) => timed(() => inner.write(record)),
    sync: (vv) => timed(() => inner.sync(vv)),
    loadVersionVector: () => timed(() => inner.loadVersionVector()),
    loadSeqHighWater: () => timed(() => inner.loadSeqHighWater()),
    saveSeqHighWater: (seq) => timed(() => inner.saveSeqHighWater(seq)),
    loadEpoch: () => timed(() => inner.loadEpoch()),
    saveEpoch: (epoch) => timed(() => inner.saveEpoch(epoch)),
    close: () => inner.close(),
  };
  const crashable = inner as Partial<CrashableStorage>;
  if (typeof crashable.crash === 'function')
    storage.crash = (seed: number) => crashable.crash?.(seed);
  return storage;
}
