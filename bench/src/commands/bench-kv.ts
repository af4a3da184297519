import { availableParallelism } from 'node:os';
import type { Command, OptionValues } from '../cli/command.js';
import { intFlag, intList, ratioList } from '../cli/flags.js';
import { formatNumber, markdownTable, publishReport } from '../report/document.js';
import type { KvBenchConfig, KvBenchRow } from '../kv/run-kv-bench.js';
import { LOAD_OPTIONS, loadClientsFor, parseLoadConfig, STEADY_WARMUP_MS } from '../kv/load-config.js';

function parseConfig(values: OptionValues): KvBenchConfig {
  const quick = values['quick'] === true;
  const replicas = intList(values, 'replicas', [3, 6], 1, 12);
  return {
    replicas,
    readRatios: ratioList(values, 'read-ratios', [0.95, 0.5]),
    runs: intFlag(values, 'runs', 1, 1, 20),
    ...parseLoadConfig(values, {
      keys: quick ? 2000 : 100_000, keysMax: 10_000_000, valueBytesMax: 1 << 20,
      clients: loadClientsFor(Math.max(...replicas), availableParallelism()),
      window: 512, warmupMs: quick ? 100 : STEADY_WARMUP_MS, durationMs: quick ? 300 : 3000,
    }),
  };
}

const KV_NOTES = [
  'Closed loop: each client runs `window` sessions with one operation in flight each; the sessions are bound to',
  'the replicas in turn and each sends to its own, as clients attached to their local replica do. Keys uniform,',
  'every key written once before measuring. A row\'s first window starts after the warm-up (`warmupMs`; each',
  'thread\'s hot code is compiled in the background meanwhile), each later one after a ramp',
  '(`rampMs`); ops/s counts operations started in the window and answered by its end; latency from call to',
  'answer, HDR histogram (perf_hooks, within 0.1%). CPU µs/op: CPU time of the whole process (replica threads, load',
  'threads, V8\'s background threads) in the measured window per operation; it moves far less than ops/s with',
  'other load on a shared machine. With --runs N each row is the median of N windows measured one after the',
  'other on the same cluster (ops/s range: the slowest and the fastest). Replica share: the smallest and the',
  'largest share of the window\'s operations that one replica served (`opsByReplica` in the JSON).',
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
    ['replicas', 'reads', 'keys', 'ops/s', 'p50 µs', 'p99 µs', 'errors', 'CPU µs/op', 'runs', 'ops/s range', 'replica share'],
    rows.map((r) => [
      r.replicas, `${Math.round(r.readRatio * 100)}%`, r.keys, Math.round(r.opsPerSec), r.p50Us, r.p99Us, r.errors, r.cpuUsPerOp,
      r.runs, `${formatNumber(r.opsPerSecMin)}-${formatNumber(r.opsPerSecMax)}`, replicaShare(r.opsByReplica),
    ]),
  );
}

export const benchKvCommand: Command = {
  name: 'bench kv',
  summary: 'steady-state throughput and latency of the replicated store on worker threads',
  usage: [
    '  --replicas LIST     replica counts (default 3,6)',
    '  --read-ratios LIST  read fractions (default 0.95,0.5)',
    '  --keys N            keys, each written once before measuring (default 100000)',
    '  --value-bytes N     value size (default 64)',
    '  --clients N         piscina load generators, one client each (default: one per core the',
    '                      largest replica count leaves free, at least 1)',
    '  --window N          sessions per client, one operation in flight each, bound to the',
    '                      replicas in turn (default 512)',
    `  --warmup-ms N       load before a row's first window, not counted (default ${STEADY_WARMUP_MS})`,
    '  --duration-ms N     measured (default 3000)',
    '  --seed N            key choice seed (default 1)',
    '  --runs N            measured windows per row, reported as their median (default 1)',
    '  --quick             small and short (a smoke test)',
    '  --out DIR           where kv.json and kv.md go (default bench/results)',
    '  --json              print one JSON document on stdout (progress goes to stderr)',
  ].join('\n'),
  options: {
    replicas: { type: 'string' },
    'read-ratios': { type: 'string' },
    runs: { type: 'string' },
    ...LOAD_OPTIONS,
  },
  async run(values) {
    const config = parseConfig(values);
    const { runKvBench } = await import('../kv/run-kv-bench.js');
    const rows = await runKvBench(config, (what) => process.stderr.write(`heal bench kv: ${what}\n`));
    return publishReport(values, {
      command: 'bench kv', name: 'kv', title: 'Replicated store: steady-state throughput and latency',
      config: { ...config, medium: 'volatile', model: 'synch', runtime: 'threads' }, rows, table: table(rows), notes: KV_NOTES,
    });
  },
};
