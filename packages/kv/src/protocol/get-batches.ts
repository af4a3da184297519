import { GET_BATCH_BYTES, MAX_GET_ITEMS } from './messages.js';

/**
 * Splits one round's reads to a replica (or a replica's answers to a client) into the items of
 * successive get (get-ok) messages: at most MAX_GET_ITEMS each, and a message ends once its
 * items' `bytesOf` reach GET_BATCH_BYTES, so a larger item goes last in its message or alone.
 */
export function getBatches<T>(items: T[], bytesOf: (item: T) => number): T[][] {
  const batches: T[][] = [];
  let from = 0;
  let bytes = 0;
  for (let i = 0; i < items.length; i++) {
    bytes += bytesOf(items[i] as T);
    if (i + 1 === items.length || i + 1 - from === MAX_GET_ITEMS || bytes >= GET_BATCH_BYTES) {
      batches.push(from === 0 && i + 1 === items.length ? items : items.slice(from, i + 1));
      from = i + 1;
      bytes = 0;
    }
  }
  return batches;
}
