import type { ActorId, Codec } from '@heal/actors/core';
import type { CostModel, CpuMeter, MeteredWork } from '@heal/actors/sim';
import { healReplicaModule } from '@heal/heal/replica-module';
import type { KvStorage, KvWire, ReplicaModule } from '@heal/kv/replica';
import { runSimExperiment } from '../sim/run-sim-experiment.js';
import type { SimExperimentConfig } from '../sim/sim-config.js';
import { nowNs } from './clock.js';
import { fitLinear, Samples, type LinearFit } from './fit.js';
import { timedStorage } from './timed-storage.js';

/**
 * What the calibration runs charge (virtual time only: the meter measures the real code): flat
 * costs of the order of the real ones, so that messages queue and batch as they do on a loaded
 * machine (a client's gets to one replica go in one message, a replica's round takes several).
 */
export const CALIBRATION_COSTS: CostModel = {
  receiveMs: () => 0.003,
  sendMs: () => 0.001,
  tickMs: () => 0.01,
  startMs: () => 0,
  restartMs: () => 0,
  flushMs: () => 0.001,
  jobMs: () => 0.001,
};

/** Per message kind, a handler's samples. */
type ByKind = Map<string, Samples>;

function add(map: ByKind, kind: string, bytes: number, ns: number): void {
  let s = map.get(kind);
  if (!s) map.set(kind, (s = new Samples()));
  s.add(bytes, ns);
}

/** What one run measured: per party, each handler's own time (storage and encoding taken out). */
export interface HandlerRun {
  replicaReceive: ByKind;
  clientReceive: ByKind;
  decode: ByKind;
  replicaEncode: Samples;
  clientEncode: Samples;
  replicaTick: Samples;
  replicaFlush: Samples;
  clientRound: Samples;
  /** Records the replicas' media handled and the time it took (to check the media measurements against). */
  storageNs: number;
}

function newRun(): HandlerRun {
  return {
    replicaReceive: new Map(),
    clientReceive: new Map(),
    decode: new Map(),
    replicaEncode: new Samples(),
    clientEncode: new Samples(),
    replicaTick: new Samples(),
    replicaFlush: new Samples(),
    clientRound: new Samples(),
    storageNs: 0,
  };
}

/**
 * Instruments that time the real code of a simulation: a meter on every handler, the medium of
 * every replica timed per operation, and the codec's decode timed per message. Time spent in
 * storage and in encoding inside a handler is taken out of the handler's own: the profile
 * charges those separately (per medium operation, per message sent).
 */
class Recorder {
  readonly run = newRun();
  /** Per id: storage and encoding ns inside the handler now running. */
  readonly #inside = new Map<ActorId, number>();

  /** `replicas`: ids below are replicas; `clockNs`: what reading the clock twice adds to an interval. */
  constructor(
    readonly replicas: number,
    readonly clockNs: number,
  ) {}

  #take(id: ActorId): number {
    const ns = this.#inside.get(id) ?? 0;
    this.#inside.set(id, 0);
    return ns;
  }

  #addInside(id: ActorId, ns: number): void {
    this.#inside.set(id, (this.#inside.get(id) ?? 0) + ns);
  }

  readonly meter: CpuMeter = {
    nowNs,
    handled: (id: ActorId, work: MeteredWork, kind: string, bytes: number, measuredNs: number) => {
      const ns = Math.max(0, measuredNs - this.clockNs);
      const replica = id < this.replicas;
      const r = this.run;
      if (work === 'encode') {
        (replica ? r.replicaEncode : r.clientEncode).add(bytes, ns);
        this.#addInside(id, ns);
        return;
      }
      const own = Math.max(0, ns - this.#take(id));
      if (work === 'receive') add(replica ? r.replicaReceive : r.clientReceive, kind, bytes, own);
      else if (work === 'tick' && replica) r.replicaTick.add(0, own);
      else if (work === 'flush' && replica) r.replicaFlush.add(0, own);
      else if (work === 'round' && !replica) r.clientRound.add(0, own);
    },
  };

  /** A medium whose every operation is timed and counted inside its replica's handler. */
  wrapStorage(self: ActorId, inner: KvStorage): KvStorage {
    return timedStorage(inner, nowNs, (ns) => {
      this.#addInside(self, ns);
      this.run.storageNs += ns;
    });
  }

  /** The replica module with its codec's decode timed (at delivery, outside any handler). */
  module(): ReplicaModule {
    const codec = healReplicaModule.codec;
    const decode = this.run.decode;
    const timedCodec = {
      sizeOf: (msg: KvWire) => codec.sizeOf(msg),
      encodeInto: (msg: KvWire, target: Uint8Array, offset: number, size: number) =>
        codec.encodeInto(msg, target, offset, size),
      encode: (msg: KvWire) => codec.encode(msg),
      decode: (source: Uint8Array, offset?: number, length?: number) => {
        const t0 = nowNs();
        const msg = codec.decode(source, offset, length);
        add(decode, msg.kind, length ?? source.byteLength - (offset ?? 0), nowNs() - t0);
        return msg;
      },
    } as unknown as Codec<KvWire>;
    return { ...healReplicaModule, codec: timedCodec };
  }
}

/**
 * Runs the recovery experiment in the simulator with every handler, codec call and storage
 * operation timed on this machine (the CPU model on with flat costs, CALIBRATION_COSTS, for the
 * virtual time), once per strategy; returns what the run measured.
 */
export function measureHandlers(configs: readonly SimExperimentConfig[]): HandlerRun {
  const replicas = configs[0]?.replicas ?? 0;
  const recorder = new Recorder(replicas, clockOverheadNs());
  for (const config of configs) {
    if (config.replicas !== replicas)
      throw new RangeError('measureHandlers: every scenario needs the same replica count');
    const ids = Array.from({ length: config.replicas + config.clients }, (_, id) => id);
    runSimExperiment(config, undefined, () => {}, {
      cpu: {
        costs: CALIBRATION_COSTS,
        meter: recorder.meter,
        hosts: [{ cores: Math.max(1, config.sharedCores), ids }],
      },
      wrapStorage: (self, storage) => recorder.wrapStorage(self, storage),
      module: recorder.module(),
    });
  }
  return recorder.run;
}

/** The median interval between two reads of the meter's clock with nothing between them. */
export function clockOverheadNs(): number {
  const samples: number[] = [];
  for (let i = 0; i < 2001; i++) {
    const t0 = nowNs();
    samples.push(nowNs() - t0);
  }
  return samples.sort((a, b) => a - b)[1000] as number;
}

/** A fit per kind (kinds with at least `minSamples`). */
export function fitByKind(map: ByKind, minSamples: number): Map<string, LinearFit> {
  const out = new Map<string, LinearFit>();
  for (const [kind, s] of map) if (s.count >= minSamples) out.set(kind, fitLinear(s));
  return out;
}
