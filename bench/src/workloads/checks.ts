import { MAX_SCRAMBLED_ITEMS } from './zipfian.js';

/** Most keys a workload takes (the bound of the scrambled zipfian key chooser). */
export const MAX_KEYS = MAX_SCRAMBLED_ITEMS;

export function checkKeys(keys: number, minKeys: number, workload: string): void {
  if (!Number.isSafeInteger(keys) || keys < minKeys || keys > MAX_KEYS) {
    throw new RangeError(
      `keys must be an integer in [${minKeys}, ${MAX_KEYS}] for ${workload}, got ${keys}`,
    );
  }
}

export function checkValueBytes(valueBytes: number): void {
  if (!Number.isSafeInteger(valueBytes) || valueBytes < 1) {
    throw new RangeError(`valueBytes must be a positive integer, got ${valueBytes}`);
  }
}

export function checkKey(key: number, keys: number): void {
  if (!Number.isInteger(key) || key < 0 || key >= keys) {
    throw new RangeError(`key must be an integer in [0, ${keys}), got ${key}`);
  }
}
