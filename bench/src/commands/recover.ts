import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { PERSISTENCY_MODELS, type PersistencyModel } from '@heal/kv';
import type { Command, OptionValues } from '../cli/command.js';
import { UsageError } from '../cli/command.js';
import { choiceFlag, intFlag, listFlag, numberFlag } from '../cli/flags.js';
import { formatNumber, markdownTable, publishReport } from '../report/document.js';
import type { RecoverConfig, RecoverRow } from '../recover/run-sim-recover.js';

const STRATEGIES = ['heal', 'full-copy', 'leader-incremental'] as const;
const MEDIA = ['volatile', 'wal', 'pmem'] as const;

export function parseRecoverConfig(values: OptionValues): RecoverConfig {
  const replicas = intFlag(values, 'replicas', 6, 3, 12);
  const config: RecoverConfig = {
    runtime: choiceFlag(values, 'runtime', ['sim', 'threads'] as const, 'sim'),
    strategies: listFlag(values, 'strategy', STRATEGIES, STRATEGIES),
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
    '  --runtime sim|threads   deterministic simulator (default) or worker threads',
    '  --strategy LIST         heal,full-copy,leader-incremental (default all three)',
    '  --replicas N            3..12 (default 6)',
    '  --keys N                dataset size (default 1000000)',
    '  --value-bytes N         value size (default 100)',
    '  --outage-ms N           how long the replica stays down (default 2000)',
    '  --model M               synch|strict|renf|event|scope (default synch)',
    '  --medium M              volatile|wal|pmem (default pmem)',
    '  --seed N                seed of the cluster and the load (default 1)',
    '  --clients N             closed-loop clients (default 16)',
    '  --write-ratio X         fraction of writes (default 0.5)',
    '  --warmup-ms N           load before the crash (default 200)',
    '  --tail-ms N             load after recovery (default 200)',
    '  --victim N              the replica that fails (default 1)',
    '  --buffer-bytes N        every strategy\'s recovery buffer budget (default 64 MiB)',
    '  --data-dir DIR          where the wal/pmem files go (default the OS temp directory)',
    '  --no-check              skip the linearizability check of the history',
    '  --out DIR               where recover.json and recover.md go (default bench/results)',
    '  --json                  print one JSON document on stdout (progress goes to stderr)',
  ].join('\n'),
  options: {
    runtime: { type: 'string' }, strategy: { type: 'string' }, replicas: { type: 'string' }, keys: { type: 'string' },
    'value-bytes': { type: 'string' }, 'outage-ms': { type: 'string' }, model: { type: 'string' }, medium: { type: 'string' },
    seed: { type: 'string' }, clients: { type: 'string' }, 'write-ratio': { type: 'string' }, 'warmup-ms': { type: 'string' },
    'tail-ms': { type: 'string' }, victim: { type: 'string' }, 'buffer-bytes': { type: 'string' }, 'data-dir': { type: 'string' },
    'no-check': { type: 'boolean' }, out: { type: 'string' }, json: { type: 'boolean' },
  },
  async run(values) {
    const config = parseRecoverConfig(values);
    const progress = (line: string): void => { process.stderr.write(`heal recover: ${line}\n`); };
    if (config.runtime === 'threads') {
      throw new UsageError('--runtime threads: the recovery experiment on worker threads is not built yet (issue 7); use --runtime sim');
    }
    const { runSimRecover } = await import('../recover/run-sim-recover.js');
    const rows = runSimRecover(config, progress);
    return publishReport(values, {
      command: 'recover', name: 'recover', title: `Recovery of one replica: ${config.strategies.join(', ')} (${config.runtime})`,
      config: { ...config }, rows, table: table(rows), notes: notes(config, rows),
    });
  },
};
