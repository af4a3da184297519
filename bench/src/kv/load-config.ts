import type { OptionTable, OptionValues } from '../cli/command.js';
import { intFlag } from '../cli/flags.js';

/** What every closed-loop load over a thread cluster takes (bench kv, bench models). */
export interface LoadConfig {
  keys: number;
  valueBytes: number;
  /** Piscina load generators, one client each. */
  clients: number;
  /** Operations in flight per client. */
  window: number;
  /** Load before the first measured window on a cluster. */
  warmupMs: number;
  /** Load before each later window on the same cluster (the ramp of its restarted load). */
  rampMs: number;
  durationMs: number;
  seed: number;
}

/**
 * The default warm-up of a thread cluster before it is measured. Every worker isolate compiles
 * its own hot code on V8's background threads, and with 8 of them on 2 cores that went on for
 * about 10 s (9-13 s into a run the background threads still used a quarter of a core, at 30 s
 * 2%). Alternated, 6 replicas: bench kv at 95% reads cost 26.6/26.6/22.1 us of CPU per op after
 * 0.5 s, 20.7/22.0/20.4 after 3 s, 18.3/19.7/17.8 after 10 s (20 s no better, 2 pairs); bench
 * models, synch on volatile, 2,231/4,316 writes/s after 0.3 s, 9,197/9,785 after 3 s,
 * 18,053/14,867 after 10 s.
 */
export const STEADY_WARMUP_MS = 10_000;
/** Not counted before each later window on a cluster: the ramp of its restarted load. */
export const WINDOW_RAMP_MS = 500;

/** Most piscina load generators a load may run. */
export const MAX_LOAD_CLIENTS = 16;

/**
 * Load generators for a thread cluster of `replicas` on `cpus` cores: one per core the replicas
 * leave free, at least one. A load thread takes its share of the cores from the replicas it
 * measures: on 2 cores, 6 replicas, 95% reads (bench kv, alternated, 512 operations in flight
 * either way), one generator gave 262k/270k/316k ops/s where two gave 236k/224k/245k.
 */
export function loadClientsFor(replicas: number, cpus: number): number {
  return Math.max(1, Math.min(MAX_LOAD_CLIENTS, cpus - replicas));
}

/** Not counted before window `window` (from 1) on a cluster: the warm-up, then the ramp. */
export function windowLeadMs(config: LoadConfig, window: number): number {
  return window === 1 ? config.warmupMs : Math.min(config.warmupMs, config.rampMs);
}

/** A command's defaults for its load options, and its bounds. */
export interface LoadDefaults {
  keys: number;
  valueBytes: number;
  /** Absent: one per core the largest replica count leaves free (`loadClientsFor`). */
  clients?: number;
  window: number;
  warmupMs: number;
  durationMs: number;
  seed: number;
  keysMax: number;
  valueBytesMax: number;
}

/**
 * The command-line options of a load (shared by bench kv and bench models), with the command's
 * defaults and its `--quick` ones.
 */
export function loadOptions(d: LoadDefaults, quick: LoadDefaults): OptionTable {
  const clients =
    d.clients === undefined
      ? {
          help: [
            'piscina load generators, one client each (default: one per core the',
            'largest replica count leaves free, at least 1)',
          ],
        }
      : {
          help: 'piscina load generators, one client each',
          default: d.clients,
          quick: quick.clients ?? d.clients,
        };
  return {
    keys: {
      type: 'string',
      arg: 'N',
      help: 'keys, each written once before measuring',
      default: d.keys,
      quick: quick.keys,
    },
    'value-bytes': {
      type: 'string',
      arg: 'N',
      help: 'value size',
      default: d.valueBytes,
      quick: quick.valueBytes,
    },
    clients: { type: 'string', arg: 'N', ...clients },
    window: {
      type: 'string',
      arg: 'N',
      help: ['sessions per client, one operation in flight each, bound to the', 'replicas in turn'],
      default: d.window,
      quick: quick.window,
    },
    'warmup-ms': {
      type: 'string',
      arg: 'N',
      help: 'load before the first window on a cluster, not counted',
      default: d.warmupMs,
      quick: quick.warmupMs,
    },
    'duration-ms': {
      type: 'string',
      arg: 'N',
      help: 'measured, per window',
      default: d.durationMs,
      quick: quick.durationMs,
    },
    seed: { type: 'string', arg: 'N', help: 'key choice seed', default: d.seed, quick: quick.seed },
    quick: { type: 'boolean', help: 'small and short (a smoke test)' },
  };
}

/** Reads the load options over `defaults` (the command's, or its `--quick` ones, with a client count). */
export function parseLoadConfig(
  values: OptionValues,
  defaults: LoadDefaults & { clients: number },
): LoadConfig {
  return {
    keys: intFlag(values, 'keys', defaults.keys, 1, defaults.keysMax),
    valueBytes: intFlag(values, 'value-bytes', defaults.valueBytes, 0, defaults.valueBytesMax),
    clients: intFlag(values, 'clients', defaults.clients, 1, MAX_LOAD_CLIENTS),
    window: intFlag(values, 'window', defaults.window, 1, 4096),
    warmupMs: intFlag(values, 'warmup-ms', defaults.warmupMs, 0, 60_000),
    rampMs: WINDOW_RAMP_MS,
    durationMs: intFlag(values, 'duration-ms', defaults.durationMs, 100, 600_000),
    seed: intFlag(values, 'seed', defaults.seed, 0, 2 ** 31),
  };
}
