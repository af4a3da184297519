import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { COMPARED_STRATEGIES, RUNNABLE_STRATEGIES } from '@heal/heal';
import { PERSISTENCY_MODELS, type PersistencyModel } from '@heal/kv';
import type { Command, OptionDef, OptionDefault, OptionTable, OptionValues } from '../cli/command.js';
import { UsageError } from '../cli/command.js';
import { choiceFlag, intFlag, listFlag, numberFlag } from '../cli/flags.js';
import { formatDefault } from '../cli/help.js';
import { DEMO_EXPERIMENT, type ExperimentConfig } from '../experiment/config.js';
import { experimentOptions, parseExperimentConfig } from '../experiment/options.js';
import { formatNumber, markdownTable, publishReport } from '../report/document.js';
import { BENCH_RESULTS_NAME, outputOptions } from '../report/results-dir.js';
import type { RecoverConfig, RecoverRow } from '../recover/run-sim-recover.js';

const MEDIA = ['volatile', 'wal', 'pmem'] as const;
const RUNTIMES = ['sim', 'threads'] as const;
const DEFAULT_RUNTIME = 'sim';
const SIM_ONLY = 'sim only:';
const THREADS_ONLY = 'threads only:';

/** The simulator's defaults (`heal recover --runtime sim`). */
export const SIM_RECOVER: Omit<RecoverConfig, 'runtime' | 'dataDir' | 'check'> = {
  strategies: [...COMPARED_STRATEGIES], replicas: 6, keys: 1_000_000, valueBytes: 100, outageMs: 2000, model: 'synch',
  medium: 'pmem', seed: 1, clients: 16, writeRatio: 0.5, warmupMs: 200, tailMs: 200, victim: 1, bufferBytes: 64 << 20,
};

/**
 * `heal recover`'s options, for either runtime: `sim` holds the simulator's defaults, `threads`
 * the experiment's; where they differ, help shows both. `output` are its output options.
 */
export function recoverOptions(sim: typeof SIM_RECOVER, threads: Omit<ExperimentConfig, 'dataDir'>, output: OptionTable): OptionTable {
  const x = experimentOptions(threads);
  const both = (s: OptionDefault, t: OptionDefault): string => {
    const [a, b] = [formatDefault(s), formatDefault(t)];
    return a === b ? a : `${a} in sim, ${b} on threads`;
  };
  const threadsOnly = (def: OptionDef): OptionDef => ({ ...def, section: THREADS_ONLY });
  return {
    runtime: {
      type: 'string', arg: RUNTIMES.join('|'), default: DEFAULT_RUNTIME, help: [
        'deterministic simulator or worker threads (the recovery experiment, with',
        'a workload, throughput in 10 ms buckets, degradation and a chart)',
      ],
    },
    strategy: {
      type: 'string', arg: 'LIST', default: both(sim.strategies, threads.strategies), help: [
        RUNNABLE_STRATEGIES.join(','), '(leader-incremental-budget: its in-memory log bounded by --buffer-bytes,',
        'not ZooKeeper\'s 500 commits)',
      ],
    },
    replicas: { ...x.replicas, default: both(sim.replicas, threads.replicas) },
    keys: { type: 'string', arg: 'N', help: 'dataset size', default: both(sim.keys, threads.keys) },
    'value-bytes': { ...x['value-bytes'], default: both(sim.valueBytes, x['value-bytes'].default) },
    'outage-ms': { type: 'string', arg: 'N', help: 'how long the replica stays down', default: both(sim.outageMs, threads.outageMs) },
    model: { ...x.model, default: both(sim.model, threads.model) },
    medium: { ...x.medium, default: both(sim.medium, threads.medium) },
    seed: { type: 'string', arg: 'N', help: 'seed of the cluster and the load', default: both(sim.seed, threads.seed) },
    clients: { type: 'string', arg: 'N', help: 'closed-loop clients (threads: one piscina thread each)', default: both(sim.clients, threads.clients) },
    'warmup-ms': {
      type: 'string', arg: 'N', help: 'load before the crash (sim); before the steady window (threads)', default: both(sim.warmupMs, threads.warmupMs),
    },
    'tail-ms': { type: 'string', arg: 'N', help: 'load after recovery', default: both(sim.tailMs, threads.tailMs) },
    victim: { ...x.victim, default: both(sim.victim, threads.victim) },
    'buffer-bytes': { ...x['buffer-bytes'], default: both(sim.bufferBytes, threads.bufferBytes) },
    'data-dir': x['data-dir'],
    ...output,
    'write-ratio': { type: 'string', arg: 'X', help: 'fraction of writes, uniform keys', default: sim.writeRatio, section: SIM_ONLY },
    'no-check': { type: 'boolean', help: 'skip the linearizability check of the history', section: SIM_ONLY },
    workload: threadsOnly(x.workload),
    'steady-ms': threadsOnly(x['steady-ms']),
    window: threadsOnly(x.window),
    'target-rate': threadsOnly(x['target-rate']),
    'pmem-latency': threadsOnly({ ...x['pmem-latency'], help: "pmem's Optane flush/fence latency model (sim: off)" }),
    'suspicion-ms': threadsOnly(x['suspicion-ms']),
    'client-timeout-ms': threadsOnly(x['client-timeout-ms']),
    'recovery-limit-ms': threadsOnly(x['recovery-limit-ms']),
  };
}

const OPTIONS = recoverOptions(SIM_RECOVER, DEMO_EXPERIMENT, outputOptions(
  'recover.json and recover.md (threads: and throughput.svg)', `${BENCH_RESULTS_NAME}/ (threads: ${BENCH_RESULTS_NAME}/recover/)`,
));

/** The flags of one runtime's section: given to the other, they are an error rather than silently ignored. */
function sectionFlags(section: string): string[] {
  return Object.entries(OPTIONS).filter(([, def]) => def.section === section).map(([name]) => name);
}

function rejectFlags(values: OptionValues, flags: readonly string[], runtime: string, hint: string): void {
  const given = flags.find((f) => values[f] !== undefined);
  if (given !== undefined) throw new UsageError(`--${given} does not apply to --runtime ${runtime} (${hint})`);
}

/** The runtime `--runtime` names. */
export function runtimeOf(values: OptionValues): (typeof RUNTIMES)[number] {
  return choiceFlag(values, 'runtime', RUNTIMES, DEFAULT_RUNTIME);
}

/** The simulator's config (`heal recover --runtime sim`, `heal sweep`) over defaults `d`. */
export function parseRecoverConfig(values: OptionValues, d: typeof SIM_RECOVER = SIM_RECOVER): RecoverConfig {
  const replicas = intFlag(values, 'replicas', d.replicas, 3, 12);
  const config: RecoverConfig = {
    runtime: runtimeOf(values),
    strategies: listFlag(values, 'strategy', RUNNABLE_STRATEGIES, d.strategies as (typeof RUNNABLE_STRATEGIES)[number][]),
    replicas,
    keys: intFlag(values, 'keys', d.keys, 1, 10_000_000),
    valueBytes: intFlag(values, 'value-bytes', d.valueBytes, 1, 4096),
    outageMs: numberFlag(values, 'outage-ms', d.outageMs, 1),
    model: choiceFlag<PersistencyModel>(values, 'model', PERSISTENCY_MODELS, d.model),
    medium: choiceFlag(values, 'medium', MEDIA, d.medium),
    seed: intFlag(values, 'seed', d.seed, 0, 2 ** 31),
    clients: intFlag(values, 'clients', d.clients, 1, 256),
    writeRatio: numberFlag(values, 'write-ratio', d.writeRatio, 0),
    warmupMs: numberFlag(values, 'warmup-ms', d.warmupMs, 0),
    tailMs: numberFlag(values, 'tail-ms', d.tailMs, 0),
    victim: intFlag(values, 'victim', Math.min(d.victim, replicas - 1), 0, replicas - 1),
    bufferBytes: intFlag(values, 'buffer-bytes', d.bufferBytes, 1024),
    dataDir: typeof values['data-dir'] === 'string' ? resolve(values['data-dir']) : tmpdir(),
    check: values['no-check'] !== true,
  };
  if (config.writeRatio > 1) throw new UsageError(`--write-ratio must be in [0, 1], got ${config.writeRatio}`);
  if (config.runtime === 'sim') rejectFlags(values, sectionFlags(THREADS_ONLY), 'sim', 'the simulator runs a uniform load set by --write-ratio');
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
  options: OPTIONS,
  async run(values) {
    if (runtimeOf(values) === 'threads') {
      rejectFlags(values, sectionFlags(SIM_ONLY), 'threads', 'it runs --workload and checks no history');
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
