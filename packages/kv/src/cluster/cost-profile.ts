import type { ActorId } from '@heal/actors/core';
import type { CostModel } from '@heal/actors/sim';

/** A cost that grows with size: `ns + nsPerByte * bytes`. */
export interface LinearCost {
  ns: number;
  nsPerByte: number;
}

/** What a storage medium's operations cost on the CPU that runs them (charged-storage.ts). */
export interface MediumCosts {
  /** Opening the medium at a (re)start (mapping the file, reading its header, checking it). */
  openNs: number;
  /**
   * What opening adds per record the medium holds (wal: replaying its log; memory-durable:
   * computing its digest; pmem: nothing, it opens in O(metadata)).
   */
  openNsPerRecord: number;
  /**
   * Reading one record from the medium, where it is read in place (a `get` of a key not held in
   * memory yet, each record a scan returns): per record and per byte of key and value.
   */
  read: LinearCost;
  /** Telling the medium one record changed: per call and per byte of key and value. */
  write: LinearCost;
  /** A sync: per call, plus per record and per byte written since the previous one. */
  sync: { ns: number; nsPerRecord: number; nsPerByte: number };
  /** `saveEpoch`, `saveSeqHighWater` (durable when they return). */
  saveNs: number;
}

/** Costs of one kind of party: replicas or clients. */
export interface PartyCosts {
  /** Decoding and handling one message, by kind (a kind not listed costs `receiveDefault`). */
  receive: Record<string, LinearCost>;
  receiveDefault: LinearCost;
  /** Encoding one message and handing it to the transport. */
  send: LinearCost;
  /** One timer's handler. */
  tickNs: number;
  /** The batch hook after a round of handlers (besides its storage syncs). */
  flushNs: number;
  /** A poll round's fixed cost, and what waking a parked thread adds. */
  jobNs: number;
  wakeNs: number;
}

/**
 * A cost profile (`heal calibrate`): what the real handlers, codec and media cost on the machine
 * it was measured on. The simulator's CPU model charges from it.
 */
export interface CostProfile {
  format: typeof COST_PROFILE_FORMAT;
  /** What reports call it (a file name stem). */
  name: string;
  measuredAt: string;
  /** The machine it was measured on (bench's describeMachine()). */
  machine: Record<string, unknown>;
  /** How it was measured (medians of how many runs, of what). */
  method: string;
  replica: PartyCosts & {
    /** A restart's fixed cost before the replica runs (a worker's start, besides the medium). */
    startNs: number;
    /**
     * What a restarted replica's thread spends on top of its handlers until it serves reads:
     * its code's first runs in a fresh isolate (lazy compilation, inline caches, deoptimizations).
     */
    restartNs: number;
    /**
     * What a replica's start does per record on its medium, beyond the medium's own work, by
     * strategy (records are read in place as they are touched: near nothing).
     */
    startRecordNs: Record<string, number>;
  };
  client: PartyCosts;
  /** By medium name (`volatile`, `memory-durable`, `wal`, `pmem`). */
  media: Record<string, MediumCosts>;
}

export const COST_PROFILE_FORMAT = 'heal-cost-profile/3';

const NS_PER_MS = 1e6;

/** Turns charging on and off (a cluster is set up before it is measured, as on threads). */
export interface ChargeSwitch {
  on: boolean;
}

const linear = (c: LinearCost, bytes: number): number => (c.ns + c.nsPerByte * bytes) / NS_PER_MS;

/**
 * The simulator's cost model for a cluster of `replicas` replicas (ids below) and clients
 * (ids from `replicas` on), from `profile`; nothing is charged while `charging.on` is false.
 */
export function profileCostModel(
  profile: CostProfile,
  replicas: number,
  charging: ChargeSwitch,
): CostModel {
  const party = (id: ActorId): PartyCosts => (id < replicas ? profile.replica : profile.client);
  return {
    receiveMs: (to, kind, bytes) => {
      if (!charging.on) return 0;
      const p = party(to);
      return linear(p.receive[kind] ?? p.receiveDefault, bytes);
    },
    sendMs: (from, _kind, bytes) => (charging.on ? linear(party(from).send, bytes) : 0),
    tickMs: (id) => (charging.on ? party(id).tickNs / NS_PER_MS : 0),
    startMs: (id) => (charging.on && id < replicas ? profile.replica.startNs / NS_PER_MS : 0),
    restartMs: (id) => (charging.on && id < replicas ? profile.replica.restartNs / NS_PER_MS : 0),
    flushMs: (id) => (charging.on ? party(id).flushNs / NS_PER_MS : 0),
    jobMs: (id, woke) => {
      if (!charging.on) return 0;
      const p = party(id);
      return (p.jobNs + (woke ? p.wakeNs : 0)) / NS_PER_MS;
    },
  };
}

/** Checks a profile read from a file, naming the field that is wrong. */
export function validateCostProfile(value: unknown, source: string): CostProfile {
  const bad = (path: string, what: string): never => {
    throw new RangeError(`cost profile ${source}: ${path} ${what}`);
  };
  const obj = (v: unknown, path: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(path, 'must be an object');
    return v as Record<string, unknown>;
  };
  const num = (o: Record<string, unknown>, key: string, path: string): void => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      bad(`${path}.${key}`, `must be a finite number >= 0, got ${String(v)}`);
  };
  const lin = (v: unknown, path: string): void => {
    const o = obj(v, path);
    num(o, 'ns', path);
    num(o, 'nsPerByte', path);
  };
  const p = obj(value, '(root)');
  if (p['format'] !== COST_PROFILE_FORMAT)
    bad('format', `must be ${COST_PROFILE_FORMAT}, got ${String(p['format'])}`);
  if (typeof p['name'] !== 'string' || p['name'] === '') bad('name', 'must be a non-empty string');
  obj(p['machine'], 'machine');
  for (const who of ['replica', 'client'] as const) {
    const party = obj(p[who], who);
    const receive = obj(party['receive'], `${who}.receive`);
    for (const [kind, cost] of Object.entries(receive)) lin(cost, `${who}.receive.${kind}`);
    lin(party['receiveDefault'], `${who}.receiveDefault`);
    lin(party['send'], `${who}.send`);
    for (const key of ['tickNs', 'flushNs', 'jobNs', 'wakeNs']) num(party, key, who);
  }
  const replica = obj(p['replica'], 'replica');
  num(replica, 'startNs', 'replica');
  num(replica, 'restartNs', 'replica');
  const perStrategy = obj(replica['startRecordNs'], 'replica.startRecordNs');
  for (const strategy of Object.keys(perStrategy))
    num(perStrategy, strategy, 'replica.startRecordNs');
  const media = obj(p['media'], 'media');
  for (const [name, m] of Object.entries(media)) {
    const path = `media.${name}`;
    const medium = obj(m, path);
    num(medium, 'openNs', path);
    num(medium, 'openNsPerRecord', path);
    num(medium, 'saveNs', path);
    lin(medium['read'], `${path}.read`);
    lin(medium['write'], `${path}.write`);
    const sync = obj(medium['sync'], `${path}.sync`);
    for (const key of ['ns', 'nsPerRecord', 'nsPerByte']) num(sync, key, `${path}.sync`);
  }
  return value as CostProfile;
}
