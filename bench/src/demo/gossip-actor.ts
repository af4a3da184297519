import assert from 'node:assert/strict';
import {
  Codec,
  defineMessage,
  fields as f,
  type Actor,
  type ActorContext,
  type ActorId,
  type ActorModule,
  type MessageOf,
} from '@heal/actors';

/**
 * The demo's protocol. A client's `request` enters at one actor and hops `hops` times from actor
 * to actor (to the next one in id order that is believed alive); the actor where it runs out of
 * hops sends the `reply` to the client. Actors also send each other a `heartbeat` on a timer and
 * suspect a peer they have not heard from for `suspectAfterMs`, so that requests route around a
 * crashed actor and come back to it once it beats again.
 */
export const Request = defineMessage(1, 'request', { id: f.u53(), hops: f.u8(), origin: f.u16(), visits: f.u8() });
export const Reply = defineMessage(2, 'reply', { id: f.u53(), visits: f.u8() });
export const Heartbeat = defineMessage(3, 'heartbeat', { n: f.u32() });
export type DemoRequest = MessageOf<typeof Request>;
export type DemoReply = MessageOf<typeof Reply>;
export type DemoMessage = DemoRequest | DemoReply | MessageOf<typeof Heartbeat>;

export interface GossipConfig {
  actors: number;
  /** Heartbeat period. */
  beatMs: number;
  /** A peer not heard from (any message) for longer than this is routed around. */
  suspectAfterMs: number;
}

const BEAT_TAG = 1;

class GossipActor implements Actor<DemoMessage> {
  readonly #config: GossipConfig;
  /** When each peer was last heard from (`ctx.now()` ms); index `self` unused. */
  readonly #lastHeardMs: number[];
  readonly #suspected: boolean[];
  #beats = 0;
  #beatsHeard = 0;
  #forwarded = 0;
  #replied = 0;
  #rerouted = 0;
  #suspicions = 0;
  #recoveries = 0;

  constructor(config: GossipConfig) {
    assert(Number.isInteger(config.actors) && config.actors >= 1, `actors must be a positive integer, got ${config.actors}`);
    assert(config.beatMs > 0 && config.suspectAfterMs > config.beatMs, 'suspectAfterMs must exceed beatMs > 0');
    this.#config = config;
    this.#lastHeardMs = new Array<number>(config.actors).fill(0);
    this.#suspected = new Array<boolean>(config.actors).fill(false);
  }

  start(ctx: ActorContext<DemoMessage>): void {
    // A fresh incarnation trusts everyone, and beats at once so that peers stop routing around it.
    this.#lastHeardMs.fill(ctx.now());
    this.#beat(ctx);
  }

  receive(msg: DemoMessage, ctx: ActorContext<DemoMessage>): void {
    if (msg.sender < this.#config.actors) this.#heard(msg.sender, ctx);
    switch (msg.kind) {
      case 'request':
        this.#relay(msg, ctx);
        break;
      case 'heartbeat':
        this.#beatsHeard++;
        break;
      case 'reply':
        assert.fail(`actor ${ctx.self} got a reply (id ${msg.id}) meant for client ${msg.sender}`);
    }
  }

  tick(tag: number, ctx: ActorContext<DemoMessage>): void {
    assert.equal(tag, BEAT_TAG, `unknown timer tag ${tag}`);
    const now = ctx.now();
    for (let peer = 0; peer < this.#config.actors; peer++) {
      if (peer === ctx.self || this.#suspected[peer]) continue;
      if (now - (this.#lastHeardMs[peer] ?? 0) > this.#config.suspectAfterMs) {
        this.#suspected[peer] = true;
        this.#suspicions++;
      }
    }
    this.#beat(ctx);
  }

  stats(): Record<string, number> {
    return {
      forwarded: this.#forwarded,
      replied: this.#replied,
      rerouted: this.#rerouted,
      beatsSent: this.#beats,
      beatsHeard: this.#beatsHeard,
      suspicions: this.#suspicions,
      recoveries: this.#recoveries,
    };
  }

  #heard(peer: ActorId, ctx: ActorContext<DemoMessage>): void {
    this.#lastHeardMs[peer] = ctx.now();
    if (this.#suspected[peer]) {
      this.#suspected[peer] = false;
      this.#recoveries++;
    }
  }

  #relay(msg: DemoRequest, ctx: ActorContext<DemoMessage>): void {
    const visits = Math.min(msg.visits + 1, 0xff);
    const next = msg.hops > 0 ? this.#nextLivePeer(ctx) : undefined;
    if (next === undefined) {
      // Out of hops, or nobody else is believed alive: answer from here.
      this.#replied++;
      ctx.send(msg.origin, { kind: 'reply', epoch: 0, sender: ctx.self, id: msg.id, visits });
      return;
    }
    this.#forwarded++;
    ctx.send(next, { kind: 'request', epoch: 0, sender: ctx.self, id: msg.id, hops: msg.hops - 1, origin: msg.origin, visits });
  }

  /** The next actor after `self` in id order that is not suspected, counting skips as reroutes. */
  #nextLivePeer(ctx: ActorContext<DemoMessage>): ActorId | undefined {
    const { actors } = this.#config;
    for (let k = 1; k < actors; k++) {
      const peer = (ctx.self + k) % actors;
      if (!this.#suspected[peer]) {
        if (k > 1) this.#rerouted++;
        return peer;
      }
    }
    return undefined;
  }

  #beat(ctx: ActorContext<DemoMessage>): void {
    this.#beats++;
    for (let peer = 0; peer < this.#config.actors; peer++) {
      if (peer !== ctx.self) ctx.send(peer, { kind: 'heartbeat', epoch: 0, sender: ctx.self, n: this.#beats });
    }
    ctx.setTimer(this.#config.beatMs, BEAT_TAG);
  }
}

export const gossipModule: ActorModule<DemoMessage, unknown, GossipConfig> = {
  codec: new Codec<DemoMessage>([Request, Reply, Heartbeat]),
  createActor: (_self, config) => new GossipActor(config),
};
export default gossipModule;
