import { Doorbell } from '../doorbell.js';
import { SpscRing } from '../ring.js';
import type { ActorId } from '../actor.js';

/** Default data capacity of one directed link's ring. */
export const DEFAULT_RING_BYTES = 1 << 20;

/**
 * The shared memory one endpoint (an actor's worker, or a client) needs: its doorbell and one
 * ring per peer in each direction. Only SharedArrayBuffers and numbers, so it can travel in
 * workerData or a piscina task payload.
 */
export interface LinkDescriptor {
  readonly self: ActorId;
  readonly doorbell: SharedArrayBuffer;
  readonly inbound: readonly { readonly peer: ActorId; readonly ring: SharedArrayBuffer }[];
  /** `doorbell` is the peer's, rung after publishing to it. */
  readonly outbound: readonly {
    readonly peer: ActorId;
    readonly ring: SharedArrayBuffer;
    readonly doorbell: SharedArrayBuffer;
  }[];
}

/**
 * Builds the mesh: a ring for every ordered pair of actors, and for every (client, actor) pair
 * in both directions (clients do not talk to each other). Each consumer has one doorbell that
 * all rings into it share, so a sleeping consumer wakes on any of them.
 */
export function buildMesh(
  actors: number,
  endpoints: number,
  ringBytes = DEFAULT_RING_BYTES,
): LinkDescriptor[] {
  const total = actors + endpoints;
  const doorbells = Array.from({ length: total }, () => Doorbell.create());
  const inbound: { peer: ActorId; ring: SharedArrayBuffer }[][] = Array.from(
    { length: total },
    () => [],
  );
  const outbound: { peer: ActorId; ring: SharedArrayBuffer; doorbell: SharedArrayBuffer }[][] =
    Array.from({ length: total }, () => []);
  for (let from = 0; from < total; from++) {
    for (let to = 0; to < total; to++) {
      const bothClients = from >= actors && to >= actors;
      if (from === to || bothClients) continue;
      const doorbell = doorbells[to] as Doorbell;
      const ring = SpscRing.create(ringBytes, doorbell).sab;
      outbound[from]?.push({ peer: to, ring, doorbell: doorbell.sab });
      inbound[to]?.push({ peer: from, ring });
    }
  }
  return doorbells.map((doorbell, self) => ({
    self,
    doorbell: doorbell.sab,
    inbound: inbound[self] ?? [],
    outbound: outbound[self] ?? [],
  }));
}
