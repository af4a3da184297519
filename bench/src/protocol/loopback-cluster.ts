import assert from 'node:assert/strict';
import type { ActorContext, ActorId, Codec } from '@heal/actors';
import { Prng } from '@heal/base';
import {
  kvReplicaModule,
  replicaConfigOf,
  THREAD_TIMING,
  type GetOkMsg,
  type KvStorage,
  type KvWire,
  type PersistencyModel,
  type Replica,
} from '@heal/kv';

/** Bytes of one inbox buffer to start with (it doubles when a round needs more). */
const INBOX_BYTES = 1 << 20;

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

/**
 * Replicas of the store in one thread, with nothing between them but the codec: every message
 * is encoded into its receiver's inbox and decoded when delivered, in rounds (each replica's
 * handlers, then its flush, as the thread runtime runs them), on a virtual clock. No threads,
 * rings or network model (the simulator has one): what it costs to run is what the protocol
 * and its codec cost, which the thread runtime's scheduling noise hides. One client endpoint
 * (id `replicas`) sends the operations and counts the answers.
 */
export class LoopbackCluster {
  readonly client: ActorId;
  readonly #codec = kvReplicaModule.codec;
  readonly #actors: Replica[] = [];
  readonly #contexts: ActorContext<KvWire, KvStorage>[] = [];
  readonly #inboxes: Inbox[];
  readonly #timers: Timer[] = [];
  /** Timers fired so far: with the pending count, a timer's id (ids only grow; none is cancelled). */
  #timersFired = 0;
  #clockMs = 0;
  /** Messages handed to replicas so far. */
  handled = 0;
  /** Reads and writes answered so far, and answers that were errors. */
  answered = 0;
  errors = 0;

  constructor(
    readonly replicas: number,
    model: PersistencyModel,
    seed: number,
  ) {
    this.client = replicas;
    const config = replicaConfigOf(replicas, THREAD_TIMING, { model });
    const prng = new Prng(seed);
    this.#inboxes = Array.from({ length: replicas + 1 }, () => new Inbox());
    for (let id = 0; id < replicas; id++) {
      this.#actors.push(kvReplicaModule.createActor(id, config) as Replica);
      this.#contexts.push({
        self: id,
        incarnation: 0,
        storage: kvReplicaModule.createStorage?.(id, config) as KvStorage,
        now: () => this.#clockMs,
        random: () => prng.float(),
        send: (to, msg) => this.send(to, msg),
        setTimer: (delayMs, tag) => {
          this.#timers.push({ atMs: this.#clockMs + delayMs, replica: id, tag });
          return this.#timers.length + this.#timersFired;
        },
        cancelTimer: () => assert.fail('replicas cancel no timers'),
      });
    }
    this.#actors.forEach((actor, id) => {
      const ctx = this.#contexts[id] as ActorContext<KvWire, KvStorage>;
      actor.start(ctx);
      actor.flush?.(ctx);
    });
  }

  send(to: ActorId, msg: KvWire): void {
    const inbox = this.#inboxes[to];
    if (!inbox) assert.fail(`no endpoint ${to}`);
    inbox.push(this.#codec, msg);
  }

  /** Delivers rounds until no message is left anywhere. */
  deliverAll(): void {
    for (let busy = true; busy;) {
      busy = false;
      for (let id = 0; id < this.replicas; id++) {
        const inbox = this.#inboxes[id] as Inbox;
        if (inbox.records.length === 0) continue;
        busy = true;
        const actor = this.#actors[id] as Replica;
        const ctx = this.#contexts[id] as ActorContext<KvWire, KvStorage>;
        const { bytes, records } = inbox.take();
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
      let next = -1;
      this.#timers.forEach((t, i) => {
        if (t.atMs <= untilMs && (next < 0 || t.atMs < (this.#timers[next] as Timer).atMs))
          next = i;
      });
      if (next < 0) break;
      const [timer] = this.#timers.splice(next, 1) as [Timer];
      this.#timersFired++;
      this.#clockMs = Math.max(this.#clockMs, timer.atMs);
      const actor = this.#actors[timer.replica] as Replica;
      const ctx = this.#contexts[timer.replica] as ActorContext<KvWire, KvStorage>;
      actor.tick(timer.tag, ctx);
      actor.flush?.(ctx);
      this.deliverAll();
    }
    this.#clockMs = untilMs;
  }

  /** Whether every replica serves reads (admitted, holding its lease). */
  serving(): boolean {
    return this.#actors.every((a) => a.full && a.holdsLease());
  }
}
