import { Bench } from 'tinybench';
import type { Command, OptionValues } from '../cli/command.js';
import { UsageError } from '../cli/command.js';
import { formatNumber, makeDocument, markdownTable, writeReport } from '../report/document.js';
import { BENCH_RESULTS_DIR, outputOptions, resultsDir } from '../report/results-dir.js';
import { startCase, type CaseSpec, type RunningCase } from '../ring/harness.js';
import {
  DIRECTIONS,
  MESSAGE_BYTES,
  ONE_WAY_CREDIT_EVERY,
  ONE_WAY_WINDOW,
  RING_PUBLISH_EVERY,
  RING_SPIN_POLLS,
  ROUND_TRIP_WINDOW,
  ringCapacityFor,
  TRANSPORTS,
  type Direction,
  type Transport,
} from '../ring/protocol.js';

/** One row of `results`: field names are read by scripts, keep them stable. */
export interface RingBenchRow {
  transport: Transport;
  bytes: number;
  direction: Direction;
  /** Messages (one-way) or round trips per second: batchMsgs / mean batch time. */
  msgsPerSec: number;
  /** Messages per tinybench iteration. */
  batchMsgs: number;
  /** tinybench samples (batches timed). */
  samples: number;
  /** Relative margin of error of the mean batch time (95%), percent. */
  rmePct: number;
}

interface Timing {
  /** Aim for batches this long (batch size calibrated per case). */
  batchTargetMs: number;
  /** tinybench time budget and minimum iterations per case. */
  timeMs: number;
  iterations: number;
  warmupMs: number;
  warmupIterations: number;
}

const FULL: Timing = {
  batchTargetMs: 100,
  timeMs: 1000,
  iterations: 10,
  warmupMs: 200,
  warmupIterations: 2,
};
const QUICK: Timing = {
  batchTargetMs: 2,
  timeMs: 20,
  iterations: 2,
  warmupMs: 0,
  warmupIterations: 0,
};
const CALIBRATION_MSGS = 2000;
const MIN_BATCH_MSGS = 500;
const MAX_BATCH_MSGS = 5_000_000;

/**
 * Picks a batch size that takes about `targetMs`. A batch costs a fixed start/end (waking the
 * workers) plus a per-message time; timing batches of n and 4n messages, grown until the larger
 * takes a quarter of the target, separates the two, so the wake-ups do not shrink the batch.
 */
async function calibrate(running: RunningCase, targetMs: number): Promise<number> {
  const timed = async (messages: number): Promise<number> => {
    const t0 = performance.now();
    await running.runBatch(messages);
    return performance.now() - t0;
  };
  await timed(CALIBRATION_MSGS); // first batch: JIT, page faults
  for (let messages = CALIBRATION_MSGS; ; messages *= 4) {
    const smallMs = await timed(messages);
    const largeMs = await timed(4 * messages);
    if (largeMs >= targetMs / 4 || 4 * messages >= MAX_BATCH_MSGS) {
      const perMessageMs = Math.max(largeMs - smallMs, largeMs / 4) / (3 * messages);
      const batch = Math.round(targetMs / perMessageMs / 100) * 100;
      return Math.min(MAX_BATCH_MSGS, Math.max(MIN_BATCH_MSGS, batch));
    }
  }
}

async function measure(spec: CaseSpec, timing: Timing): Promise<RingBenchRow> {
  const running = await startCase(spec);
  try {
    const batchMsgs = await calibrate(running, timing.batchTargetMs);
    const bench = new Bench({
      time: timing.timeMs,
      iterations: timing.iterations,
      warmup: timing.warmupIterations > 0,
      warmupTime: timing.warmupMs,
      warmupIterations: timing.warmupIterations,
      throws: true,
    });
    const name = `${spec.transport} ${spec.direction} ${spec.messageBytes} B`;
    bench.add(name, () => running.runBatch(batchMsgs), { async: true });
    await bench.run();
    const result = bench.getTask(name)?.result;
    if (result?.state !== 'completed')
      throw new Error(`${name}: tinybench result ${result?.state ?? 'missing'}`);
    return {
      transport: spec.transport,
      bytes: spec.messageBytes,
      direction: spec.direction,
      msgsPerSec: Math.round(batchMsgs / (result.latency.mean / 1000)),
      batchMsgs,
      samples: result.latency.samplesCount,
      rmePct: Math.round(result.latency.rme * 10) / 10,
    };
  } finally {
    await running.close();
  }
}

function rateOf(
  rows: readonly RingBenchRow[],
  t: Transport,
  bytes: number,
  d: Direction,
): number | undefined {
  return rows.find((r) => r.transport === t && r.bytes === bytes && r.direction === d)?.msgsPerSec;
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? 'n/a' : `${(a / b).toFixed(1)}x`;
}

function summaryTable(rows: readonly RingBenchRow[]): string {
  const lines: (string | number)[][] = [];
  for (const direction of DIRECTIONS) {
    for (const bytes of MESSAGE_BYTES) {
      const ring = rateOf(rows, 'ring', bytes, direction);
      const pm = rateOf(rows, 'postMessage', bytes, direction);
      const cl = rateOf(rows, 'comlink', bytes, direction);
      lines.push([
        direction,
        bytes,
        ring ?? 'n/a',
        pm ?? 'n/a',
        cl ?? 'n/a',
        ratio(ring, pm),
        ratio(ring, cl),
      ]);
    }
  }
  return markdownTable(
    [
      'direction',
      'bytes',
      'ring msgs/s',
      'postMessage msgs/s',
      'comlink msgs/s',
      'ring / postMessage',
      'ring / comlink',
    ],
    lines,
  );
}

function notes(rows: readonly RingBenchRow[], timing: Timing): string {
  const oneWay32 = ratio(
    rateOf(rows, 'ring', 32, 'one-way'),
    rateOf(rows, 'postMessage', 32, 'one-way'),
  );
  return [
    `Ring one-way 32 B vs MessagePort postMessage, same run: **${oneWay32}**.`,
    '',
    '## How it is measured',
    '',
    '- Every case runs two fresh worker threads (sender and receiver); the main thread only starts a batch',
    '  (a control word and `Atomics.notify`) and waits (`Atomics.waitAsync`) for the end of the batch.',
    '- One tinybench task iteration = one batch of `batchMsgs` messages, sized from a short calibration',
    `  batch to take about ${timing.batchTargetMs} ms. \`msgsPerSec\` = \`batchMsgs\` / mean batch time; for`,
    "  round trips it counts completed round trips. `samples` and `rmePct` are tinybench's.",
    `- **ring** (\`SpscRing\`, capacity ${MESSAGE_BYTES.map((b) => `${ringCapacityFor(b) / 1024} KiB for ${b} B`).join(', ')}):`,
    `  one-way: the producer \`tryWrite\`s a ${'`Uint8Array`'} payload (a copy into the ring) and publishes every`,
    `  ${RING_PUBLISH_EVERY} records, and when the ring is full publishes and blocks in \`waitForSpace\`; the consumer`,
    '  polls (its handler reads one byte of each record in place), spinning through',
    `  ${formatNumber(RING_SPIN_POLLS)} empty polls before sleeping on its doorbell; the batch ends when the consumer`,
    `  has polled the last record. Round trip: the client keeps ${ROUND_TRIP_WINDOW} requests in flight, the echo`,
    '  copies each record into a second ring; the batch ends when the client has every reply.',
    `- **postMessage** (a \`MessageChannel\` between the two workers, the payload a \`Uint8Array\` copied by`,
    `  structured clone): one-way: pipelined posts with at most ${ONE_WAY_WINDOW} unacknowledged messages; the`,
    `  consumer counts and acknowledges every ${ONE_WAY_CREDIT_EVERY}; the batch ends when it has counted the last`,
    `  one. Round trip: ${ROUND_TRIP_WINDOW} requests in flight, the peer posts each message back.`,
    `- **comlink** (\`Comlink.wrap\`/\`expose\` over the same kind of port): one-way: \`count(payload)\` calls`,
    `  not awaited one by one, at most ${ONE_WAY_WINDOW} unresolved (each call still gets its reply message); the`,
    '  batch ends when the callee has run the last call. Round trip: `await echo(payload)` with',
    `  ${ROUND_TRIP_WINDOW} calls in flight.`,
    '- The machine is shared and has few cores: the two workers of a case take one core each, and other',
    '  load shows as noise. Run it several times and compare medians.',
  ].join('\n');
}

export const benchRingCommand: Command = {
  name: 'bench ring',
  summary: 'message rates of the SharedArrayBuffer ring vs MessagePort postMessage vs comlink',
  options: {
    quick: { type: 'boolean', help: 'short runs (a smoke test; the numbers mean little)' },
    ...outputOptions('ring.json and ring.md'),
  },
  async run(values: OptionValues) {
    const quick = values['quick'] === true;
    const out = values['out'];
    if (out !== undefined && (typeof out !== 'string' || out.trim() === ''))
      throw new UsageError('--out needs a directory');
    const timing = quick ? QUICK : FULL;
    const rows: RingBenchRow[] = [];
    for (const direction of DIRECTIONS) {
      for (const messageBytes of MESSAGE_BYTES) {
        for (const transport of TRANSPORTS) {
          const row = await measure({ transport, direction, messageBytes }, timing);
          process.stderr.write(
            `bench ring: ${transport} ${direction} ${messageBytes} B: ${formatNumber(row.msgsPerSec)} msgs/s (±${row.rmePct}%)\n`,
          );
          rows.push(row);
        }
      }
    }
    const config = {
      quick,
      messageBytes: [...MESSAGE_BYTES],
      roundTripWindow: ROUND_TRIP_WINDOW,
      oneWayWindow: ONE_WAY_WINDOW,
      oneWayCreditEvery: ONE_WAY_CREDIT_EVERY,
      ringPublishEvery: RING_PUBLISH_EVERY,
      ringSpinPolls: RING_SPIN_POLLS,
      ringCapacityBytes: Object.fromEntries(
        MESSAGE_BYTES.map((b) => [String(b), ringCapacityFor(b)]),
      ),
      batchTargetMs: timing.batchTargetMs,
      tinybench: {
        timeMs: timing.timeMs,
        iterations: timing.iterations,
        warmupMs: timing.warmupMs,
        warmupIterations: timing.warmupIterations,
      },
    };
    const doc = makeDocument('bench ring', config, rows);
    const table = summaryTable(rows);
    const paths = writeReport(
      resultsDir(values, BENCH_RESULTS_DIR),
      'ring',
      doc,
      'Ring vs postMessage vs comlink message rates',
      table,
      notes(rows, timing),
    );
    if (values['json'] === true) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else process.stdout.write(`${table}\n\nwrote ${paths.json} and ${paths.md}\n`);
    return 0;
  },
};
