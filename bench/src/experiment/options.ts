import { resolve } from 'node:path';
import { PERSISTENCY_MODELS, type PersistencyModel } from '@heal/kv';
import { UsageError, type OptionTable, type OptionValues } from '../cli/command.js';
import { choiceFlag, intFlag, listFlag } from '../cli/flags.js';
import {
  createWorkload,
  TAOBENCH_WORKLOAD_O,
  WORKLOAD_NAMES,
  YCSB_VALUE_BYTES,
  type Workload,
  type WorkloadName,
} from '../workloads/index.js';
import { EXPERIMENT_MEDIA, EXPERIMENT_STRATEGY_NAMES, type ExperimentConfig } from './config.js';
import { defaultMediaDir, MEMORY_DIR } from './media-dir.js';

const MAX_REPLICAS = 12;
const MAX_CLIENTS = 16;
const MAX_WINDOW = 1024;
const MAX_PHASE_MS = 600_000;
/** Keys a 2-core machine with a few GiB can preload into 12 replicas' pmem tables. */
const MAX_KEYS = 10_000_000;

/** The recovery experiment's flags (`heal demo`, `heal recover --runtime threads`), with its defaults `d`. */
export function experimentOptions(d: Omit<ExperimentConfig, 'dataDir'>) {
  return {
    strategy: {
      type: 'string',
      arg: 'LIST',
      help: EXPERIMENT_STRATEGY_NAMES.join(','),
      default: d.strategies,
    },
    replicas: { type: 'string', arg: 'N', help: `3..${MAX_REPLICAS}`, default: d.replicas },
    workload: { type: 'string', arg: 'W', help: WORKLOAD_NAMES.join('|'), default: d.workload },
    keys: {
      type: 'string',
      arg: 'N',
      help: 'dataset size, preloaded on every replica',
      default: d.keys,
    },
    'value-bytes': { type: 'string', arg: 'N', help: 'value size', default: workloadValueBytes() },
    model: { type: 'string', arg: 'M', help: PERSISTENCY_MODELS.join('|'), default: d.model },
    medium: { type: 'string', arg: 'M', help: EXPERIMENT_MEDIA.join('|'), default: d.medium },
    'pmem-latency': {
      type: 'string',
      arg: 'on|off',
      help: "pmem's Optane flush/fence latency model",
      default: d.pmemLatency ? 'on' : 'off',
    },
    'warmup-ms': {
      type: 'string',
      arg: 'N',
      help: 'load before the steady window, not measured',
      default: d.warmupMs,
    },
    'steady-ms': {
      type: 'string',
      arg: 'N',
      help: 'the window before the crash that degradation compares with',
      default: d.steadyMs,
    },
    'outage-ms': {
      type: 'string',
      arg: 'N',
      help: [
        'how long the replica stays down (longer than --suspicion-ms,',
        'or it restarts before the others removed it)',
      ],
      default: d.outageMs,
    },
    'tail-ms': {
      type: 'string',
      arg: 'N',
      help: 'load after it serves reads again',
      default: d.tailMs,
    },
    victim: { type: 'string', arg: 'N', help: 'the replica that fails', default: d.victim },
    clients: {
      type: 'string',
      arg: 'N',
      help: `closed-loop clients, one piscina thread each (1..${MAX_CLIENTS})`,
      default: d.clients,
    },
    window: {
      type: 'string',
      arg: 'N',
      help: 'operations in flight per client (open loop: at most)',
      default: d.window,
    },
    'target-rate': {
      type: 'string',
      arg: 'N',
      help: [
        'open loop: the clients issue N operations/s in all on a schedule, answered',
        'or not (default: closed loop); latency counts from the scheduled time',
      ],
    },
    'suspicion-ms': {
      type: 'string',
      arg: 'N',
      help: 'a replica silent this long is suspected',
      default: d.suspicionMs,
    },
    'client-timeout-ms': {
      type: 'string',
      arg: 'N',
      help: 'a client operation fails after this long',
      default: d.clientTimeoutMs,
    },
    'buffer-bytes': {
      type: 'string',
      arg: 'N',
      help: "every strategy's recovery buffer budget",
      default: d.bufferBytes,
    },
    'recovery-limit-ms': {
      type: 'string',
      arg: 'N',
      help: 'fail if a replica has not recovered after this long',
      default: d.recoveryLimitMs,
    },
    seed: {
      type: 'string',
      arg: 'N',
      help: 'seed of the cluster and the clients',
      default: d.seed,
    },
    'data-dir': {
      type: 'string',
      arg: 'DIR',
      help: 'where the wal/pmem files go',
      default: `pmem: ${MEMORY_DIR} if it is a tmpfs with room, else the OS temp directory`,
    },
  } as const satisfies OptionTable;
}

/** Each workload's own value size, as help shows the default of --value-bytes. */
export function workloadValueBytes(): string {
  return `the workload's: taobench ${TAOBENCH_WORKLOAD_O.valueBytes}, ycsb ${YCSB_VALUE_BYTES}`;
}

/**
 * Reads the experiment's flags over `defaults`; errors name the bad flag. `maxReplicas`: the
 * simulator runs more replicas than a 2-core machine's threads can.
 */
export function parseExperimentConfig(
  values: OptionValues,
  defaults: Omit<ExperimentConfig, 'dataDir'>,
  maxReplicas = MAX_REPLICAS,
): ExperimentConfig {
  const replicas = intFlag(values, 'replicas', defaults.replicas, 3, maxReplicas);
  const config: ExperimentConfig = {
    strategies: listFlag(
      values,
      'strategy',
      EXPERIMENT_STRATEGY_NAMES,
      defaults.strategies as (typeof EXPERIMENT_STRATEGY_NAMES)[number][],
    ),
    replicas,
    workload: choiceFlag<WorkloadName>(values, 'workload', WORKLOAD_NAMES, defaults.workload),
    keys: intFlag(values, 'keys', defaults.keys, 1, MAX_KEYS),
    ...(values['value-bytes'] !== undefined
      ? { valueBytes: intFlag(values, 'value-bytes', 0, 1, 4096) }
      : {}),
    model: choiceFlag<PersistencyModel>(values, 'model', PERSISTENCY_MODELS, defaults.model),
    medium: choiceFlag(values, 'medium', EXPERIMENT_MEDIA, defaults.medium),
    pmemLatency:
      choiceFlag(
        values,
        'pmem-latency',
        ['on', 'off'] as const,
        defaults.pmemLatency ? 'on' : 'off',
      ) === 'on',
    warmupMs: intFlag(values, 'warmup-ms', defaults.warmupMs, 0, MAX_PHASE_MS),
    steadyMs: intFlag(values, 'steady-ms', defaults.steadyMs, 100, MAX_PHASE_MS),
    outageMs: intFlag(values, 'outage-ms', defaults.outageMs, 1, MAX_PHASE_MS),
    tailMs: intFlag(values, 'tail-ms', defaults.tailMs, 0, MAX_PHASE_MS),
    victim: intFlag(values, 'victim', Math.min(defaults.victim, replicas - 1), 0, replicas - 1),
    clients: intFlag(values, 'clients', defaults.clients, 1, MAX_CLIENTS),
    window: intFlag(values, 'window', defaults.window, 1, MAX_WINDOW),
    ...(values['target-rate'] !== undefined
      ? { targetOpsPerSec: intFlag(values, 'target-rate', 0, 1, 10_000_000) }
      : {}),
    // Above the heartbeat period (10 ms), which the protocol requires.
    suspicionMs: intFlag(values, 'suspicion-ms', defaults.suspicionMs, 20, MAX_PHASE_MS),
    clientTimeoutMs: intFlag(
      values,
      'client-timeout-ms',
      defaults.clientTimeoutMs,
      10,
      MAX_PHASE_MS,
    ),
    bufferBytes: intFlag(values, 'buffer-bytes', defaults.bufferBytes, 1024, 2 ** 31),
    recoveryLimitMs: intFlag(values, 'recovery-limit-ms', defaults.recoveryLimitMs, 100, 3_600_000),
    seed: intFlag(values, 'seed', defaults.seed, 0, 2 ** 31),
    dataDir: '',
  };
  experimentWorkload(config);
  config.dataDir =
    typeof values['data-dir'] === 'string' ? resolve(values['data-dir']) : defaultMediaDir(config);
  return config;
}

/** The config's workload; its complaint about keys or value size names the flag. */
export function experimentWorkload(
  config: Pick<ExperimentConfig, 'workload' | 'keys' | 'valueBytes'>,
): Workload {
  try {
    return createWorkload(config.workload, {
      keys: config.keys,
      ...(config.valueBytes !== undefined ? { valueBytes: config.valueBytes } : {}),
    });
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    const flag = /^keys/.test(err.message)
      ? '--keys'
      : /^valueBytes/.test(err.message)
        ? '--value-bytes'
        : '--workload';
    throw new UsageError(`${flag}: ${err.message}`);
  }
}
