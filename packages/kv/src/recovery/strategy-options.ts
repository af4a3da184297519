import type { StrategyOptions } from '../protocol/recovery-strategy.js';

/**
 * Default byte bound of what a source keeps for a recovering replica: HEAL's Missed-updates
 * buffer, the full copy's donor records, leader-incremental's log (one budget for all).
 */
export const RECOVERY_BUFFER_BYTES_DEFAULT = 64 << 20;

/** Reads a strategy's options, each error naming the strategy, the option and the bad value. */
export function readStrategyOptions(strategy: string, options: StrategyOptions) {
  const bad = (name: string, want: string): never => {
    throw new RangeError(
      `${strategy} option ${name} must be ${want}, got ${JSON.stringify(options[name])}`,
    );
  };
  return {
    positiveInt(name: string, fallback: number): number {
      const v = options[name];
      if (v === undefined) return fallback;
      return typeof v === 'number' && Number.isInteger(v) && v > 0
        ? v
        : bad(name, 'a positive integer');
    },
    /** A MAC key given as hex (at least 16 bytes); undefined when the cluster has none. */
    hexKey(name: string): Uint8Array | undefined {
      const v = options[name];
      if (v === undefined || v === '') return undefined;
      if (typeof v !== 'string' || !/^([0-9a-f]{2}){16,}$/i.test(v))
        return bad(name, 'a hex string of at least 16 bytes');
      return Uint8Array.from(Buffer.from(v, 'hex'));
    },
  };
}
