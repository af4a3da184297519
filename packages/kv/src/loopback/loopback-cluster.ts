import assert from 'node:assert/strict';
import type { ActorContext, ActorId, Codec } from '@heal/actors/core';
import { Prng } from '@heal/base';
import type { KvWire, Replica, ReplicaConfig } from '../protocol/replica.js';
import type { ReplicaModule } from '../protocol/replica-module.js';
import type { GetOkMsg } from '../protocol/messages.js';
import type { RecoveryReport } from '../protocol/recovery-strategy.js';
import type { KvStorage } from '../storage/kv-storage.js';

/** Bytes of one inbox buffer to start with (it doubles when a round needs more). */
const INBOX_BYTES = 1 << 16;

/** Encoded messages for one endpoint, appended until it takes them all. */
class Inbox {
  bytes = new Uint8Array(INBOX_BYTES);
  spare = new Uint8Array(INBOX_BYTES);
  /** Offset and length of each message, in order. */
  records: number[] = [];
  spareRecords: number[] = [];
  fill = 0;

  push(codec: Codec<KvWire>, msg: KvWire): void {
    const size = codec.sizeOf(msg);
    if (this.fill + size > this.bytes.byteLength) {
      const grown = new Uint8Array(Math.max(2 * this.bytes.byteLength, this.fill + size));
      grown.set(this.bytes.subarray(0, this.fill));
      this.bytes = grown;
    }
    codec.encodeInto(msg, this.bytes, this.fill, size);
    this.records.push(this.fill, size);
    this.fill += size;
  }

  /** Hands out what arrived so far; messages sent meanwhile go to the other buffer. */
  take(): { bytes: Uint8Array; records: number[] } {
    const taken = { bytes: this.bytes, records: this.records };
    [this.bytes, this.spare] = [this.spare, this.bytes];
    this.records = this.spareRecords;
    this.records.length = 0;
    this.spareRecords = taken.records;
    this.fill = 0;
    return taken;
  }
}

interface Timer {
  readonly atMs: number;
  readonly replica: ActorId;
  readonly tag: number;
}

interface Slot {
  actor: Replica | undefined;
  ctx: ActorContext<KvWire, KvStorage>;
}

/**
 * Replicas of the store in one thread, with nothing between them but the codec: every message
 * is encoded into its receiver's inbox and decoded when delivered, in rounds (each replica's
 * handlers, then its flush, as the thread runtime runs them), on a virtual clock. No threads,
 * rings or network model (the simulator has one): what it costs to run is what the protocol
 * and its codec cost. A replica can crash (its medium closed, the others told at once, as the
 * thread runtime tells them) and restart on its medium. One client endpoint (id `replicas`)
 * sends the operations and counts the answers.
 */
export class LoopbackCluster {
  readonly replicas: number;
  readonly client: ActorId;
  readonly #module: ReplicaModule;
  readonly #config: ReplicaConfig;
  readonly #codec: Codec<KvWire>;
  readonly #prng: Prng;
  readonly #slots: Slot[] = [];
  readonly #inboxes: Inbox[];
  readonly #timers = new Map<number, Timer>();
  #nextTimer = 1;
  #clockMs = 0;
  /** Messages handed to replicas so far. */
  handled = 0;
  /** Reads and writes answered so far, and answers that were errors. */
  answered = 0;
  errors = 0;

  constructor(module: ReplicaModule, config: ReplicaConfig, seed: number) {
    this.replicas = config.replicas;
    this.client = config.replicas;
    this.#module = module;
    this.#config = config;
    this.#codec = module.codec;
    this.#prng = new Prng(seed);
    this.#inboxes = Array.from({ length: this.replicas + 1 }, () => new Inbox());
    for (let id = 0; id < this.replicas; id++)
      this.#slots.push({ actor: undefined, ctx: this.#context(id, 0) });
    for (let id = 0; id < this.replicas; id++) this.#start(id);
    this.deliverAll();
  }

  send(to: ActorId, msg: KvWire): void {
    const inbox = this.#inboxes[to];
    if (!inbox) assert.fail(`no endpoint ${to}`);
    inbox.push(this.#codec, msg);
  }

  isUp(id: ActorId): boolean {
    return this.#slot(id).actor !== undefined;
  }

  /** Replica `id` ends: its timers and inbox are dropped, its medium closed, the others told. */
  crash(id: ActorId): void {
    const slot = this.#slot(id);
    assert(slot.actor, `crash: replica ${id} is down`);
    slot.actor = undefined;
    for (const [timer, t] of this.#timers) if (t.replica === id) this.#timers.delete(timer);
    this.#inboxes[id]?.take();
    slot.ctx.storage.close();
    const incarnation = slot.ctx.incarnation;
    this.#slots.forEach(({ actor, ctx }) => {
      if (!actor) return;
      actor.peerDown?.(id, incarnation, ctx);
      actor.flush?.(ctx);
    });
    this.deliverAll();
  }

  /** A new incarnation of replica `id` on its medium, reopened. */
  restart(id: ActorId): void {
    const slot = this.#slot(id);
    assert(!slot.actor, `restart: replica ${id} is up`);
    slot.ctx = this.#context(id, slot.ctx.incarnation + 1);
    this.#start(id);
    this.deliverAll();
  }

  /** Closes every live replica's medium. */
  close(): void {
    for (const slot of this.#slots) {
      if (!slot.actor) continue;
      slot.actor = undefined;
      slot.ctx.storage.close();
    }
    this.#timers.clear();
  }

  /** Delivers rounds until no message is left anywhere. */
  deliverAll(): void {
    for (let busy = true; busy;) {
      busy = false;
      for (let id = 0; id < this.replicas; id++) {
        const inbox = this.#inboxes[id] as Inbox;
        if (inbox.records.length === 0) continue;
        busy = true;
        const { bytes, records } = inbox.take();
        const { actor, ctx } = this.#slot(id);
        if (!actor) continue;
        for (let i = 0; i < records.length; i += 2) {
          actor.receive(this.#codec.decode(bytes, records[i], records[i + 1]), ctx);
        }
        this.handled += records.length / 2;
        actor.flush?.(ctx);
      }
      const { bytes, records } = (this.#inboxes[this.client] as Inbox).take();
      for (let i = 0; i < records.length; i += 2) {
        const msg = this.#codec.decode(bytes, records[i], records[i + 1]);
        if (msg.kind === 'get-ok') this.answered += (msg as GetOkMsg).items.length;
        else if (msg.kind === 'put-ok') this.answered++;
        else this.errors++;
      }
    }
  }

  /** Moves the clock on by `ms`, firing the timers due on the way (each followed by a delivery). */
  advance(ms: number): void {
    const untilMs = this.#clockMs + ms;
    for (;;) {
      let next: [number, Timer] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].atMs <= untilMs && (!next || entry[1].atMs < next[1].atMs)) next = entry;
      }
      if (!next) break;
      const [id, timer] = next;
      this.#timers.delete(id);
      this.#clockMs = Math.max(this.#clockMs, timer.atMs);
      const { actor, ctx } = this.#slot(timer.replica);
      assert(actor, 'a down replica has no timers');
      actor.tick(timer.tag, ctx);
      actor.flush?.(ctx);
      this.deliverAll();
    }
    this.#clockMs = untilMs;
  }

  /** Replica `id`'s last recovery, if it is up and recovered (see Replica.recoveryReport). */
  recoveryReport(id: ActorId): RecoveryReport | undefined {
    return this.#slot(id).actor?.recoveryReport();
  }

  /** Whether every live replica serves reads (admitted, holding its lease). */
  serving(): boolean {
    return this.#slots.every(({ actor }) => !actor || (actor.full && actor.holdsLease()));
  }

  #slot(id: ActorId): Slot {
    const slot = this.#slots[id];
    if (!slot) throw new RangeError(`no replica ${id} (replicas are 0..${this.replicas - 1})`);
    return slot;
  }

  #start(id: ActorId): void {
    const slot = this.#slot(id);
    const actor = this.#module.createActor(id, this.#config) as Replica;
    slot.actor = actor;
    actor.start(slot.ctx);
    actor.flush?.(slot.ctx);
  }

  #context(id: ActorId, incarnation: number): ActorContext<KvWire, KvStorage> {
    const prng = this.#prng.fork(id * 1024 + incarnation);
    return {
      self: id,
      incarnation,
      storage: this.#module.createStorage?.(id, this.#config) as KvStorage,
      now: () => this.#clockMs,
      // A scratch cluster on a virtual clock charges no CPU.
      cpuMs: () => NaN,
      random: () => prng.float(),
      send: (to, msg) => this.send(to, msg),
      setTimer: (delayMs, tag) => {
        const timer = this.#nextTimer++;
        this.#timers.set(timer, { atMs: this.#clockMs + delayMs, replica: id, tag });
        return timer;
      },
      cancelTimer: (timer) => {
        this.#timers.delete(timer);
      },
    };
  }
}
