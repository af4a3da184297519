/**
 * Empties `map`, handing each entry to `each` (entries `each` adds are drained too). Entry by
 * entry, not with `Map.prototype.clear()`: V8's clear() swaps in a new table and leaves the old
 * one's entries in place, and a table that was in the old generation then keeps what they point
 * to alive through the next scavenges (its slots stay in the remembered set until a full GC
 * finds the table dead). A map cleared once per round promoted every round's contents: a replica
 * serving only reads promoted 400-450 KB per scavenge through its get-ok queue, none without it.
 */
export function drainMap<K, V>(map: Map<K, V>, each: (value: V, key: K) => void): void {
  if (map.size === 0) return;
  for (const [key, value] of map) {
    map.delete(key);
    each(value, key);
  }
}
