import type { ActorId } from '../actor.js';
import type { Prng } from '@heal/base';

/**
 * The simulated network's fault model, per directed link:
 * - latency: uniform in [minMs, maxMs], or exponential with mean `meanMs` above `minMs`;
 * - reordering: with `fifo: false` (default) two messages on a link may overtake each other
 *   whenever their latencies differ; with `fifo: true` a link delivers in send order;
 * - loss: each message is dropped with probability `lossRate`;
 * - duplication: each message is delivered twice with probability `duplicateRate`;
 * - partitions: while a partition is in force, messages between actors in different groups are
 *   dropped at send time and at delivery time (an in-flight message does not cross a new cut);
 * - messages to or from a crashed actor are dropped at delivery.
 * Messages are never corrupted here: the transports are in-process, and codec robustness is
 * proven by the fuzz tests.
 */
export interface LinkModel {
  minMs: number;
  maxMs: number;
  distribution: 'uniform' | 'exponential';
  /** Mean of the exponential part, added to `minMs`; unused for uniform. */
  meanMs: number;
  lossRate: number;
  duplicateRate: number;
  fifo: boolean;
}

export const DEFAULT_LINK: LinkModel = {
  minMs: 0.05,
  maxMs: 0.5,
  distribution: 'uniform',
  meanMs: 0.2,
  lossRate: 0,
  duplicateRate: 0,
  fifo: false,
};

export function validateLink(link: LinkModel): LinkModel {
  const bad = (what: string): never => {
    throw new RangeError(`link model: ${what}`);
  };
  if (!(link.minMs >= 0)) bad(`minMs must be >= 0, got ${link.minMs}`);
  if (!(link.maxMs >= link.minMs)) bad(`maxMs (${link.maxMs}) must be >= minMs (${link.minMs})`);
  if (!(link.meanMs >= 0)) bad(`meanMs must be >= 0, got ${link.meanMs}`);
  if (!(link.lossRate >= 0 && link.lossRate <= 1))
    bad(`lossRate must be in [0, 1], got ${link.lossRate}`);
  if (!(link.duplicateRate >= 0 && link.duplicateRate <= 1)) {
    bad(`duplicateRate must be in [0, 1], got ${link.duplicateRate}`);
  }
  if (link.distribution !== 'uniform' && link.distribution !== 'exponential') {
    bad(`distribution must be uniform or exponential, got ${String(link.distribution)}`);
  }
  return link;
}

/** Per-link models, partitions, and the last delivery time per link (for FIFO links). */
export class Network {
  readonly #links = new Map<number, LinkModel>();
  readonly #lastDeliveryMs = new Map<number, number>();
  /** Group index per actor while partitioned; empty when the network is whole. */
  #group = new Map<ActorId, number>();
  #defaultLink: LinkModel;

  constructor(defaults: Partial<LinkModel> = {}) {
    this.#defaultLink = validateLink({ ...DEFAULT_LINK, ...defaults });
  }

  static #key(from: ActorId, to: ActorId): number {
    return from * 0x10000 + to;
  }

  link(from: ActorId, to: ActorId): LinkModel {
    return this.#links.get(Network.#key(from, to)) ?? this.#defaultLink;
  }

  setDefault(change: Partial<LinkModel>): void {
    this.#defaultLink = validateLink({ ...this.#defaultLink, ...change });
  }

  /** Changes one directed link. */
  setLink(from: ActorId, to: ActorId, change: Partial<LinkModel>): void {
    this.#links.set(Network.#key(from, to), validateLink({ ...this.link(from, to), ...change }));
  }

  /** Cuts the network into groups; actors not named form one more group together. */
  partition(groups: readonly (readonly ActorId[])[]): void {
    const next = new Map<ActorId, number>();
    groups.forEach((group, index) => {
      for (const id of group) {
        if (next.has(id)) throw new RangeError(`partition: actor ${id} is in two groups`);
        next.set(id, index + 1);
      }
    });
    this.#group = next;
  }

  heal(): void {
    this.#group = new Map();
  }

  connected(a: ActorId, b: ActorId): boolean {
    if (this.#group.size === 0) return true;
    return (this.#group.get(a) ?? 0) === (this.#group.get(b) ?? 0);
  }

  /** Delivery times for one send: none when lost, two when duplicated. */
  deliveries(from: ActorId, to: ActorId, nowMs: number, prng: Prng): number[] {
    const link = this.link(from, to);
    if (prng.chance(link.lossRate)) return [];
    const copies = prng.chance(link.duplicateRate) ? 2 : 1;
    const out: number[] = [];
    for (let i = 0; i < copies; i++) {
      const latency =
        link.distribution === 'uniform'
          ? prng.range(link.minMs, link.maxMs)
          : link.minMs + prng.exponential(link.meanMs);
      let at = nowMs + latency;
      if (link.fifo) {
        const key = Network.#key(from, to);
        at = Math.max(at, this.#lastDeliveryMs.get(key) ?? 0);
        this.#lastDeliveryMs.set(key, at);
      }
      out.push(at);
    }
    return out;
  }
}
