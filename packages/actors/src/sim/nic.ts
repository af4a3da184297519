import assert from 'node:assert/strict';
import type { ActorId } from '../actor.js';
import type { LinkModel } from './network.js';

/**
 * The bandwidth model: every actor and endpoint has a NIC with a bandwidth per direction.
 * A message leaves its sender's NIC after the ones it sent before (egress serializes at
 * `bytesPerSec`: it has left once its last byte has), then crosses the link (the link model's
 * latency, loss, duplication). Its bytes reach the receiver as they were sent (cut-through),
 * so a lone message adds nothing there; but the receiver's NIC takes one message at a time,
 * so messages from several senders that arrive together are received one after the other.
 * On the wire a message takes its bytes plus `frameOverheadBytes` per frame of at most
 * `frameBytes` payload bytes (Ethernet, IP and TCP headers). Infinite bandwidth (the default)
 * adds no delay and no event: a simulation without a NIC model runs exactly as before.
 */
export interface NicModel {
  /** Bytes per second in each direction; Infinity: no bandwidth limit. */
  bytesPerSec: number;
  /** Payload bytes per frame. */
  frameBytes: number;
  /** Bytes a frame adds (headers, preamble, gap). */
  frameOverheadBytes: number;
}

export const UNLIMITED_NIC: NicModel = {
  bytesPerSec: Infinity,
  frameBytes: 1448,
  frameOverheadBytes: 0,
};

/**
 * Links one can pick by name: latency from the link model, bandwidth from the NIC model.
 * - `lan10g`: a 10 GbE LAN switch hop, 1.25 GB/s per direction; one-way latency of 20-40 us
 *   for small messages through the kernel's TCP stack; 1448 B TCP payload per 1538 B on the wire.
 * - `loopback`: one machine (the thread runtime's shared-memory rings, or TCP on loopback):
 *   memory-copy bandwidth of about 4 GB/s, and 2-10 us between a send and the receiver seeing it.
 */
export const LINK_PRESETS = {
  lan10g: {
    link: { minMs: 0.02, maxMs: 0.04, distribution: 'uniform' },
    nic: { bytesPerSec: 1.25e9, frameBytes: 1448, frameOverheadBytes: 90 },
  },
  loopback: {
    link: { minMs: 0.002, maxMs: 0.01, distribution: 'uniform' },
    nic: { bytesPerSec: 4e9, frameBytes: 65_483, frameOverheadBytes: 52 },
  },
} as const satisfies Record<string, { link: Partial<LinkModel>; nic: NicModel }>;

export type LinkPresetName = keyof typeof LINK_PRESETS;
export const LINK_PRESET_NAMES = Object.keys(LINK_PRESETS) as LinkPresetName[];

export function validateNic(nic: NicModel): NicModel {
  const bad = (what: string): never => {
    throw new RangeError(`nic model: ${what}`);
  };
  if (!(nic.bytesPerSec > 0))
    bad(`bytesPerSec must be > 0 (Infinity: unlimited), got ${nic.bytesPerSec}`);
  if (!(Number.isInteger(nic.frameBytes) && nic.frameBytes > 0))
    bad(`frameBytes must be a positive integer, got ${nic.frameBytes}`);
  if (!(nic.frameOverheadBytes >= 0 && Number.isFinite(nic.frameOverheadBytes))) {
    bad(`frameOverheadBytes must be a finite number >= 0, got ${nic.frameOverheadBytes}`);
  }
  return nic;
}

/** Every id's NIC: its model and when each direction is next free (virtual ms). */
export class Nics {
  readonly #models = new Map<ActorId, NicModel>();
  readonly #egressFreeMs = new Map<ActorId, number>();
  readonly #ingressFreeMs = new Map<ActorId, number>();
  #default: NicModel;
  #limited: boolean;

  constructor(defaults: Partial<NicModel> = {}) {
    this.#default = validateNic({ ...UNLIMITED_NIC, ...defaults });
    this.#limited = Number.isFinite(this.#default.bytesPerSec);
  }

  /** Whether any NIC has a finite bandwidth (otherwise the simulator skips this model). */
  get limited(): boolean {
    return this.#limited;
  }

  model(id: ActorId): NicModel {
    return this.#models.get(id) ?? this.#default;
  }

  /** Changes one id's NIC (both directions). */
  set(id: ActorId, change: Partial<NicModel>): void {
    const model = validateNic({ ...this.model(id), ...change });
    this.#models.set(id, model);
    if (Number.isFinite(model.bytesPerSec)) this.#limited = true;
  }

  /** Milliseconds `bytes` of payload occupy `id`'s NIC in one direction. */
  wireMs(id: ActorId, bytes: number): number {
    const m = this.model(id);
    if (!Number.isFinite(m.bytesPerSec)) return 0;
    const frames = Math.max(1, Math.ceil(bytes / m.frameBytes));
    return ((bytes + frames * m.frameOverheadBytes) * 1000) / m.bytesPerSec;
  }

  /** When a message of `bytes` handed to `id`'s NIC at `nowMs` has left it (its last byte). */
  egress(id: ActorId, nowMs: number, bytes: number): number {
    const ms = this.wireMs(id, bytes);
    if (ms === 0) return nowMs;
    const doneMs = Math.max(nowMs, this.#egressFreeMs.get(id) ?? 0) + ms;
    this.#egressFreeMs.set(id, doneMs);
    return doneMs;
  }

  /**
   * When a message of `bytes` whose last byte reached `id`'s NIC at `nowMs` has been received:
   * then, unless the NIC was still taking in an earlier message when its first byte came.
   */
  ingress(id: ActorId, nowMs: number, bytes: number): number {
    const ms = this.wireMs(id, bytes);
    if (ms === 0) return nowMs;
    const doneMs = Math.max(nowMs, (this.#ingressFreeMs.get(id) ?? 0) + ms);
    assert(doneMs >= nowMs, 'a NIC never finishes before the bytes arrive');
    this.#ingressFreeMs.set(id, doneMs);
    return doneMs;
  }
}
