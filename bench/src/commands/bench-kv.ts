import { availableParallelism } from 'node:os';
import type { Command, OptionTable, OptionValues } from '../cli/command.js';
import { intFlag, intList, ratioList } from '../cli/flags.js';
import { formatNumber, markdownTable, publishReport } from '../report/document.js';
import { outputOptions } from '../report/results-dir.js';
import type { KvBenchConfig, KvBenchRow } from '../kv/run-kv-bench.js';
import {
  loadClientsFor,
  loadOptions,
  parseLoadConfig,
  STEADY_WARMUP_MS,
  type LoadDefaults,
} from '../kv/load-config.js';

const LOAD: LoadDefaults = {
  keys: 100_000,
  valueBytes: 64,
  window: 512,
  warmupMs: STEADY_WARMUP_MS,
  durationMs: 3000,
  seed: 1,
  keysMax: 10_000_000,
  valueBytesMax: 1 << 20,
};
const QUICK_LOAD: LoadDefaults = { ...LOAD, keys: 2000, warmupMs: 100, durationMs: 300 };

const OPTIONS = {
  replicas: { type: 'string', arg: 'LIST', help: 'replica counts', default: [3, 6] },
  'read-ratios': { type: 'string', arg: 'LIST', help: 'read fractions', default: [0.95, 0.5] },
  runs: {
    type: 'string',
    arg: 'N',
    help: 'measured windows per row, reported as their median',
    default: 1,
  },
} as const satisfies OptionTable;

function parseConfig(values: OptionValues): KvBenchConfig {
  const load = values['quick'] === true ? QUICK_LOAD : LOAD;
  const replicas = intList(values, 'replicas', OPTIONS.replicas.default, 1, 12);
  return {
    replicas,
    readRatios: ratioList(values, 'read-ratios', OPTIONS['read-ratios'].default),
    runs: intFlag(values, 'runs', OPTIONS.runs.default, 1, 20),
    ...parseLoadConfig(values, {
      ...load,
      clients: loadClientsFor(Math.max(...replicas), availableParallelism()),
    }),
  };
}

const KV_NOTES = [
  'Closed loop: each client runs `window` sessions with one operation in flight each; the sessions are bound to',
  'the replicas in turn and each sends to its own, as clients attached to their local replica do. Keys uniform,',
  "every key written once before measuring. A row's first window starts after the warm-up (`warmupMs`; each",
  "thread's hot code is compiled in the background meanwhile), each later one after a ramp",
  '(`rampMs`); ops/s counts operations started in the window and answered by its end; latency from call to',
  'answer, HDR histogram (perf_hooks, within 0.1%). CPU µs/op: CPU time of the whole process (replica threads, load',
  "threads, V8's background threads) in the measured window per operation; it moves far less than ops/s with",
  'other load on a shared machine. With --runs N each row is the median of N windows measured one after the',
  'other on the same cluster (ops/s range: the slowest and the fastest). Replica share: the smallest and the',
  "largest share of the window's operations that one replica served (`opsByReplica` in the JSON).",
].join('\n');

/** The smallest and largest share of the operations one replica served, in percent. */
export function replicaShare(opsByReplica: readonly number[]): string {
  const total = opsByReplica.reduce((a, b) => a + b, 0);
  if (total === 0) return '-';
  const percent = (ops: number): string => ((100 * ops) / total).toFixed(1);
  return `${percent(Math.min(...opsByReplica))}-${percent(Math.max(...opsByReplica))}%`;
}

function table(rows: KvBenchRow[]): string {
  return markdownTable(
    [
      'replicas',
      'reads',
      'keys',
      'ops/s',
      'p50 µs',
      'p99 µs',
      'errors',
      'CPU µs/op',
      'runs',
      'ops/s range',
      'replica share',
    ],
    rows.map((r) => [
      r.replicas,
      `${Math.round(r.readRatio * 100)}%`,
      r.keys,
      Math.round(r.opsPerSec),
      r.p50Us,
      r.p99Us,
      r.errors,
      r.cpuUsPerOp,
      r.runs,
      `${formatNumber(r.opsPerSecMin)}-${formatNumber(r.opsPerSecMax)}`,
      replicaShare(r.opsByReplica),
    ]),
  );
}

export const benchKvCommand: Command = {
  name: 'bench kv',
  summary: 'steady-state throughput and latency of the replicated store on worker threads',
  options: { ...OPTIONS, ...loadOptions(LOAD, QUICK_LOAD), ...outputOptions('kv.json and kv.md') },
  async run(values) {
    const config = parseConfig(values);
    const { runKvBench } = await import('../kv/run-kv-bench.js');
    const rows = await runKvBench(config, (what) =>
      process.stderr.write(`heal bench kv: ${what}\n`),
    );
    return publishReport(values, {
      command: 'bench kv',
      name: 'kv',
      title: 'Replicated store: steady-state throughput and latency',
      config: { ...config, medium: 'volatile', model: 'synch', runtime: 'threads' },
      rows,
      table: table(rows),
      notes: KV_NOTES,
    });
  },
};
