import { Prng } from '@heal/base';

/** A seeded uniform [0, 1) generator (the simulator's), so a failing case replays from its seed. */
export function seededRandom(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.float();
}
