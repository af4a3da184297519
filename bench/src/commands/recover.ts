import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { COMPARED_STRATEGIES, RUNNABLE_STRATEGIES } from '@heal/heal';
import { PERSISTENCY_MODELS, type PersistencyModel } from '@heal/kv';
import type { Command, OptionValues } from '../cli/command.js';
import { UsageError } from '../cli/command.js';
import { choiceFlag, intFlag, listFlag, numberFlag } from '../cli/flags.js';
import { DEMO_EXPERIMENT } from '../experiment/config.js';
import { EXPERIMENT_OPTIONS, parseExperimentConfig } from '../experiment/options.js';
import { formatNumber, markdownTable, publishReport } from '../report/document.js';
import type { RecoverConfig, RecoverRow } from '../recover/run-sim-recover.js';

const MEDIA = ['volatile', 'wal', 'pmem'] as const;
/** Flags only one runtime reads: given to the other, they are an error rather than silently ignored. */
const SIM_ONLY = ['write-ratio', 'no-check'] as const;
const THREADS_ONLY = ['workload', 'steady-ms', 'window', 'pmem-latency', 'suspicion-ms', 'client-timeout-ms', 'recovery-limit-ms'] as const;

function rejectFlags(values: OptionValues, flags: readonly string[], runtime: string, hint: string): void {
  const given = flags.find((f) => values[f] !== undefined);
  if (given !== undefined) throw new UsageError(`--${given} does not apply to --runtime ${runtime} (${hint})`);
}

/** The simulator's config (`heal recover --runtime sim`, `heal sweep`). */
export function parseRecoverConfig(values: OptionValues): RecoverConfig {
  const replicas = intFlag(values, 'replicas', 6, 3, 12);
  const config: RecoverConfig = {
    runtime: choiceFlag(values, 'runtime', ['sim', 'threads'] as const, 'sim'),
    strategies: listFlag(values, 'strategy', RUNNABLE_STRATEGIES, COMPARED_STRATEGIES),
    replicas,
    keys: intFlag(values, 'keys', 1_000_000, 1, 10_000_000),
    valueBytes: intFlag(values, 'value-bytes', 100, 1, 4096),
    outageMs: numberFlag(values, 'outage-ms', 2000, 1),
    model: choiceFlag<PersistencyModel>(values, 'model', PERSISTENCY_MODELS, 'synch'),
    medium: choiceFlag(values, 'medium', MEDIA, 'pmem'),
    seed: intFlag(values, 'seed', 1, 0, 2 ** 31),
    clients: intFlag(values, 'clients', 16, 1, 256),
    writeRatio: numberFlag(values, 'write-ratio', 0.5, 0),
    warmupMs: numberFlag(values, 'warmup-ms', 200, 0),
    tailMs: numberFlag(values, 'tail-ms', 200, 0),
    victim: intFlag(values, 'victim', 1, 0, replicas - 1),
    bufferBytes: intFlag(values, 'buffer-bytes', 64 << 20, 1024),
    dataDir: typeof values['data-dir'] === 'string' ? resolve(values['data-dir']) : tmpdir(),
    check: values['no-check'] !== true,
  };
  if (config.writeRatio > 1) throw new UsageError(`--write-ratio must be in [0, 1], got ${config.writeRatio}`);
  if (config.runtime === 'sim') rejectFlags(values, THREADS_ONLY, 'sim', 'the simulator runs a uniform load set by --write-ratio');
  return config;
}

function table(rows: RecoverRow[]): string {
  const heal = rows.find((r) => r.strategy === 'heal');
  return markdownTable(
    ['strategy', 'recovery ms', 'phases ms', 'missed keys', 'missed writes', 'missed bytes', 'bytes moved', 'moved / missed', 'latency vs heal'],
    rows.map((r) => [
      r.strategy, r.recoveryMs,
      Object.entries(r.phasesMs).map(([k, v]) => `${k} ${formatNumber(v)}`).join(', '),
      r.missedKeys, r.missedWrites, r.missedBytes, r.bytesMoved,
      r.missedBytes > 0 ? `${(r.bytesMoved / r.missedBytes).toFixed(2)}x` : '-',
      heal && heal.recoveryMs > 0 ? `${(r.recoveryMs / heal.recoveryMs).toFixed(1)}x` : '-',
    ]),
  );
}

function notes(config: RecoverConfig, rows: RecoverRow[]): string {
  const lines = [
    `One crash-and-recover run per strategy, same seed (${config.seed}), dataset and load, in the ${config.runtime === 'sim' ? 'deterministic simulator (virtual time: ms are simulated, not wall-clock)' : 'thread runtime'}.`,
    `Replica ${config.victim} of ${config.replicas} crashes after ${config.warmupMs} ms of load, stays down ${config.outageMs} ms, restarts and recovers; ${config.clients} closed-loop clients, ${config.writeRatio * 100}% writes, uniform keys, ${config.valueBytes} B values, model ${config.model}, medium ${config.medium}${config.medium === 'pmem' ? ' (latency model off)' : ''}.`,
    'recoveryMs: from the restart to serving reads; phases are consecutive (load = loading the medium). missedKeys/missedBytes: keys a full replica held newer than what the restarted replica loaded, at its restart (bytes = key + value + 21 B of ts/state/origin/seq per entry); missedWrites: writes coordinated from the crash to the restart. bytesMoved: wire bytes (header included) of every recovery message the recovering replica received.',
    `Every run: history ${config.check ? 'checked linearizable' : 'not checked (--no-check)'}, replicas verified equal after settling.`,
  ];
  for (const r of rows) if (r.counts && Object.keys(r.counts).length > 0) lines.push(`${r.strategy} counts: ${JSON.stringify(r.counts)}`);
  return lines.join('\n');
}

export const recoverCommand: Command = {
  name: 'recover',
  summary: 'crash one replica, recover it with each strategy (same seed), compare latency, phases and bytes',
  usage: [
    '  --runtime sim|threads   deterministic simulator (default) or worker threads (the recovery experiment,',
    '                          with a workload, throughput in 10 ms buckets, degradation and a chart)',
    '  --strategy LIST         heal,full-copy,leader-incremental (default all three), or leader-incremental-budget',
    '                          (its in-memory log bounded by --buffer-bytes, not ZooKeeper\'s 500 commits)',
    '  --replicas N            3..12 (default 6)',
    `  --keys N                dataset size (default 1000000 in sim, ${DEMO_EXPERIMENT.keys} on threads)`,
    '  --value-bytes N         value size (default 100 in sim, the workload\'s on threads: taobench 150, ycsb 100)',
    `  --outage-ms N           how long the replica stays down (default 2000 in sim, ${DEMO_EXPERIMENT.outageMs} on threads)`,
    '  --model M               synch|strict|renf|event|scope (default synch)',
    '  --medium M              volatile|wal|pmem (default pmem)',
    '  --seed N                seed of the cluster and the load (default 1)',
    `  --clients N             closed-loop clients (default 16 in sim, ${DEMO_EXPERIMENT.clients} on threads: one piscina thread each)`,
    `  --warmup-ms N           load before the crash (sim, default 200); before the steady window (threads, default ${DEMO_EXPERIMENT.warmupMs})`,
    `  --tail-ms N             load after recovery (default 200 in sim, ${DEMO_EXPERIMENT.tailMs} on threads)`,
    '  --victim N              the replica that fails (default 1)',
    '  --buffer-bytes N        every strategy\'s recovery buffer budget (default 64 MiB)',
    '  --data-dir DIR          where the wal/pmem files go (default the OS temp directory)',
    '  sim only:',
    '  --write-ratio X         fraction of writes, uniform keys (default 0.5)',
    '  --no-check              skip the linearizability check of the history',
    '  threads only:',
    `  --workload W            taobench|ycsb-a|ycsb-b|ycsb-c|ycsb-f (default ${DEMO_EXPERIMENT.workload})`,
    `  --steady-ms N           the window before the crash that degradation compares with (default ${DEMO_EXPERIMENT.steadyMs})`,
    `  --window N              operations in flight per client (default ${DEMO_EXPERIMENT.window})`,
    `  --pmem-latency on|off   pmem's Optane flush/fence latency model (default ${DEMO_EXPERIMENT.pmemLatency ? 'on' : 'off'}; sim: off)`,
    `  --suspicion-ms N        a replica silent this long is suspected (default ${DEMO_EXPERIMENT.suspicionMs})`,
    `  --client-timeout-ms N   a client operation fails after this long (default ${DEMO_EXPERIMENT.clientTimeoutMs})`,
    `  --recovery-limit-ms N   fail if the replica has not recovered after this long (default ${DEMO_EXPERIMENT.recoveryLimitMs})`,
    '  --out DIR               where recover.json and recover.md go (default bench/results)',
    '                          (threads: and throughput.svg; default ./heal-results/<timestamp>/)',
    '  --json                  print one JSON document on stdout (progress goes to stderr)',
  ].join('\n'),
  options: {
    runtime: { type: 'string' }, strategy: { type: 'string' }, replicas: { type: 'string' }, keys: { type: 'string' },
    'value-bytes': { type: 'string' }, 'outage-ms': { type: 'string' }, model: { type: 'string' }, medium: { type: 'string' },
    seed: { type: 'string' }, clients: { type: 'string' }, 'write-ratio': { type: 'string' }, 'warmup-ms': { type: 'string' },
    'tail-ms': { type: 'string' }, victim: { type: 'string' }, 'buffer-bytes': { type: 'string' }, 'data-dir': { type: 'string' },
    'no-check': { type: 'boolean' }, out: { type: 'string' }, json: { type: 'boolean' },
    ...EXPERIMENT_OPTIONS,
  },
  async run(values) {
    if (choiceFlag(values, 'runtime', ['sim', 'threads'] as const, 'sim') === 'threads') {
      rejectFlags(values, SIM_ONLY, 'threads', 'it runs --workload and checks no history');
      const config = parseExperimentConfig(values, DEMO_EXPERIMENT);
      const { runAndPublish } = await import('../experiment/publish.js');
      return runAndPublish({
        command: 'recover', values, config,
        title: `Recovery of one replica on worker threads: ${config.strategies.join(', ')}, ${config.workload}`,
      });
    }
    const config = parseRecoverConfig(values);
    // Progress lines for a person watching (a terminal); quiet otherwise. The results path is always printed.
    const progress = process.stderr.isTTY ? (line: string): void => { process.stderr.write(`heal recover: ${line}\n`); } : (): void => {};
    const { runSimRecover } = await import('../recover/run-sim-recover.js');
    const rows = runSimRecover(config, progress);
    return publishReport(values, {
      command: 'recover', name: 'recover', title: `Recovery of one replica: ${config.strategies.join(', ')} (${config.runtime})`,
      config: { ...config }, rows, table: table(rows), notes: notes(config, rows),
    });
  },
};
