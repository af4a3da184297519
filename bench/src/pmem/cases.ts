/**
 * The measured cases of `heal bench pmem`: persist cost by size and durability, PLog append and
 * PTable put/get rates, and a plain file append with fdatasync (what a WAL commit costs).
 * Each tinybench iteration runs a batch of operations sized to take about `batchTargetMs`;
 * per-operation figures are the median batch time divided by the batch size.
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { LATENCY_OFF, OPTANE_LATENCY, PLog, PmemRegion, PTable, type Durability } from '@heal/pmem';

export interface PersistRow {
  op: 'persist';
  bytes: number;
  durability: Durability;
  latencyModel: boolean;
  nsPerOp: number;
  batchOps: number;
  samples: number;
}

export interface RateRow {
  op: 'ptable-put' | 'ptable-get' | 'plog-append';
  valueBytes: number;
  durability: Durability;
  latencyModel: boolean;
  opsPerSec: number;
  nsPerOp: number;
  batchOps: number;
  samples: number;
}

export interface FdatasyncRow {
  op: 'fdatasync-append';
  bytes: number;
  nsPerOp: number;
  batchOps: number;
  samples: number;
}

export type PmemBenchRow = PersistRow | RateRow | FdatasyncRow;

export interface Timing {
  batchTargetMs: number;
  timeMs: number;
  iterations: number;
  warmupMs: number;
}

export const FULL: Timing = { batchTargetMs: 20, timeMs: 800, iterations: 10, warmupMs: 100 };
export const QUICK: Timing = { batchTargetMs: 1, timeMs: 15, iterations: 2, warmupMs: 0 };

export const PERSIST_BYTES = [64, 256, 4096] as const;
export const VALUE_BYTES = 64;
/** Persist cases cycle through this window of the region, so lines and pages vary. */
const PERSIST_WINDOW_BYTES = 1 << 20;
const PLOG_REGION_BYTES = 32 << 20;
const PTABLE_KEYS = 10_000;
const BATCH_OPS_MAX = 2_000_000;
const CALIBRATION_MS = 2;

interface Measured {
  nsPerOp: number;
  batchOps: number;
  samples: number;
}

/** Sizes a batch from a short timed run of `op`, then measures batches with tinybench. */
async function measure(
  name: string,
  op: (i: number) => void,
  timing: Timing,
  beforeBatch?: (ops: number) => void,
): Promise<Measured> {
  let i = 0;
  let ops = 1;
  for (;;) {
    beforeBatch?.(ops);
    const t0 = performance.now();
    for (let k = 0; k < ops; k++) op(i++);
    const ms = performance.now() - t0;
    if (ms >= CALIBRATION_MS || ops >= BATCH_OPS_MAX) {
      ops = Math.max(
        1,
        Math.min(BATCH_OPS_MAX, Math.round((ops * timing.batchTargetMs) / Math.max(ms, 1e-3))),
      );
      break;
    }
    ops *= 4;
  }
  const batchOps = ops;
  const bench = new Bench({
    time: timing.timeMs,
    iterations: timing.iterations,
    warmup: timing.warmupMs > 0,
    warmupTime: timing.warmupMs,
    throws: true,
  });
  const hooks = beforeBatch === undefined ? {} : { beforeEach: () => beforeBatch(batchOps) };
  bench.add(
    name,
    () => {
      for (let k = 0; k < batchOps; k++) op(i++);
    },
    hooks,
  );
  await bench.run();
  const result = bench.getTask(name)?.result;
  if (result?.state !== 'completed')
    throw new Error(`${name}: tinybench result ${result?.state ?? 'missing'}`);
  return {
    nsPerOp: (result.latency.p50 * 1e6) / batchOps,
    batchOps,
    samples: result.latency.samplesCount,
  };
}

export async function persistCase(
  dir: string,
  bytes: number,
  durability: Durability,
  latencyModel: boolean,
  timing: Timing,
): Promise<PersistRow> {
  const region = PmemRegion.create(
    join(dir, `persist-${bytes}-${durability}-${latencyModel}`),
    PERSIST_WINDOW_BYTES,
    {
      durability,
      latency: latencyModel ? OPTANE_LATENCY : LATENCY_OFF,
    },
  );
  const slots = PERSIST_WINDOW_BYTES / bytes;
  const view = region.view;
  const m = await measure(
    `persist ${bytes}`,
    (i) => {
      const offset = (i % slots) * bytes;
      view[offset] = i; // one store, so the line (and for msync the page) is dirty
      region.persist(offset, bytes);
    },
    timing,
  );
  region.close();
  return { op: 'persist', bytes, durability, latencyModel, ...m };
}

export async function fdatasyncCase(
  dir: string,
  bytes: number,
  timing: Timing,
): Promise<FdatasyncRow> {
  const fd = openSync(join(dir, `wal-${bytes}`), 'a');
  const record = Buffer.alloc(bytes, 0x5a);
  try {
    const m = await measure(
      `fdatasync ${bytes}`,
      () => {
        writeSync(fd, record);
        fdatasyncSync(fd);
      },
      timing,
    );
    return { op: 'fdatasync-append', bytes, ...m };
  } finally {
    closeSync(fd);
  }
}

function rateRow(op: RateRow['op'], latencyModel: boolean, m: Measured): RateRow {
  return {
    op,
    valueBytes: VALUE_BYTES,
    durability: 'emulated',
    latencyModel,
    opsPerSec: Math.round(1e9 / m.nsPerOp),
    ...m,
  };
}

export async function plogCase(
  dir: string,
  latencyModel: boolean,
  timing: Timing,
): Promise<RateRow> {
  const region = PmemRegion.create(join(dir, `plog-${latencyModel}`), PLOG_REGION_BYTES, {
    latency: latencyModel ? OPTANE_LATENCY : LATENCY_OFF,
  });
  PLog.format(region, { maxRecordBytes: 1024 });
  let log = PLog.open(region);
  const payload = Buffer.alloc(VALUE_BYTES, 0x42);
  const recordBytes = 8 + VALUE_BYTES;
  const m = await measure(
    'plog append',
    () => log.append(payload),
    timing,
    (ops) => {
      if (log.freeBytes >= (ops + 1) * recordBytes) return;
      if ((ops + 1) * recordBytes > PLOG_REGION_BYTES - 64)
        throw new Error(`plog batch of ${ops} does not fit the region`);
      PLog.format(region, { maxRecordBytes: 1024 }); // outside the timed batch
      log = PLog.open(region);
    },
  );
  region.close();
  return rateRow('plog-append', latencyModel, m);
}

export async function ptableCases(
  dir: string,
  latencyModel: boolean,
  timing: Timing,
): Promise<RateRow[]> {
  const layout = { capacity: PTABLE_KEYS, keyMaxBytes: 16, valueMaxBytes: VALUE_BYTES };
  const region = PmemRegion.create(join(dir, `ptable-${latencyModel}`), PTable.bytesFor(layout), {
    latency: latencyModel ? OPTANE_LATENCY : LATENCY_OFF,
  });
  PTable.format(region, layout);
  const table = PTable.open(region);
  const keys = Array.from({ length: PTABLE_KEYS }, (_, i) => `key-${i}`);
  const record = {
    key: '',
    ts: { version: 0, cid: 1 },
    value: Buffer.alloc(VALUE_BYTES, 0x42),
    state: 1,
    origin: 0,
    seq: 0,
  };
  const put = (i: number): void => {
    record.key = keys[i % PTABLE_KEYS] as string;
    record.ts.version = i;
    record.seq = i;
    table.put(record);
  };
  for (let i = 0; i < PTABLE_KEYS; i++) put(i); // every key present: puts below are updates
  const rows = [rateRow('ptable-put', latencyModel, await measure('ptable put', put, timing))];
  if (!latencyModel) {
    let sink = 0;
    const get = (i: number): void => {
      sink += table.get(keys[i % PTABLE_KEYS] as string)?.value.length ?? 0;
    };
    rows.push(rateRow('ptable-get', false, await measure('ptable get', get, timing)));
    if (sink === 0) throw new Error('ptable get returned nothing');
  }
  region.close();
  return rows;
}
