import type { OptionSpec, OptionValues } from '../cli/command.js';
import { intFlag } from '../cli/flags.js';

/** What every closed-loop load over a thread cluster takes (bench kv, bench models). */
export interface LoadConfig {
  keys: number;
  valueBytes: number;
  /** Piscina load generators, one client each. */
  clients: number;
  /** Operations in flight per client. */
  window: number;
  warmupMs: number;
  durationMs: number;
  seed: number;
}

/** The command-line options of a load (shared by bench kv and bench models). */
export const LOAD_OPTIONS: OptionSpec = {
  keys: { type: 'string' },
  'value-bytes': { type: 'string' },
  clients: { type: 'string' },
  window: { type: 'string' },
  'warmup-ms': { type: 'string' },
  'duration-ms': { type: 'string' },
  seed: { type: 'string' },
  quick: { type: 'boolean' },
  out: { type: 'string' },
  json: { type: 'boolean' },
};

/** A command's defaults and bounds for its load options. */
export interface LoadDefaults {
  keys: number;
  keysMax: number;
  valueBytesMax: number;
  window: number;
  warmupMs: number;
  durationMs: number;
}

/** Reads the load options; `defaults` already reflect `--quick` where the command wants. */
export function parseLoadConfig(values: OptionValues, defaults: LoadDefaults): LoadConfig {
  return {
    keys: intFlag(values, 'keys', defaults.keys, 1, defaults.keysMax),
    valueBytes: intFlag(values, 'value-bytes', 64, 0, defaults.valueBytesMax),
    clients: intFlag(values, 'clients', 2, 1, 16),
    window: intFlag(values, 'window', defaults.window, 1, 4096),
    warmupMs: intFlag(values, 'warmup-ms', defaults.warmupMs, 0, 60_000),
    durationMs: intFlag(values, 'duration-ms', defaults.durationMs, 100, 600_000),
    seed: intFlag(values, 'seed', 1, 0, 2 ** 31),
  };
}
