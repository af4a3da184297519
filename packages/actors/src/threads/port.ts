import assert from 'node:assert/strict';
import type { ActorId, Message } from '../actor.js';
import type { Codec } from '../codec.js';
import { CodecError } from '../codec-error.js';
import { Doorbell } from '../doorbell.js';
import { SpscRing } from '../ring.js';
import type { LinkDescriptor } from './links.js';

/**
 * Bytes of encoded messages one link may hold back while its ring is full. Past it, messages
 * are dropped and counted, as a congested network would: the protocols tolerate loss (they
 * retry or replay), while an unbounded queue would hide an overload until memory runs out.
 */
export const MAX_BACKLOG_BYTES_PER_LINK = 32 << 20;

/** Records one `poll` call takes from one ring before moving to the next (fairness). */
export const POLL_BATCH_PER_RING = 256;

export interface PortStats {
  sent: number;
  received: number;
  codecErrors: number;
  senderMismatches: number;
  backlogged: number;
  backlogDrops: number;
}

interface Outbound {
  readonly ring: SpscRing;
  /** Messages (encoded) waiting for room, oldest first; FIFO order on the link is kept. */
  readonly backlog: Uint8Array[];
  backlogBytes: number;
  dirty: boolean;
}

/**
 * One endpoint's side of the mesh: encodes sends straight into the peer's ring, publishes them
 * in batches (`flush`), and decodes what arrives. Owned by exactly one thread.
 */
export class RingPort<M extends Message> {
  readonly self: ActorId;
  readonly doorbell: Doorbell;
  readonly stats: PortStats = {
    sent: 0,
    received: 0,
    codecErrors: 0,
    senderMismatches: 0,
    backlogged: 0,
    backlogDrops: 0,
  };
  readonly #codec: Codec<M>;
  readonly #outbound = new Map<ActorId, Outbound>();
  readonly #inbound: { peer: ActorId; ring: SpscRing }[];
  #backlogLinks = 0;
  /**
   * The last message sent and where its encoding lies (in a ring, not yet published, or in a
   * backlog record): a protocol broadcasts one message object to every member, and copying its
   * bytes costs less than encoding it again. Messages are never mutated once sent (Actor.send).
   * Forgotten at `flush`, after which a ring's bytes may be consumed and reused.
   */
  #lastMsg: M | undefined;
  #lastBytes: Uint8Array = new Uint8Array(0);
  #lastOffset = 0;
  #lastSize = 0;

  constructor(links: LinkDescriptor, codec: Codec<M>) {
    this.self = links.self;
    this.#codec = codec;
    this.doorbell = new Doorbell(links.doorbell);
    for (const { peer, ring, doorbell } of links.outbound) {
      const attached = new SpscRing(ring, new Doorbell(doorbell));
      this.#outbound.set(peer, { ring: attached, backlog: [], backlogBytes: 0, dirty: false });
    }
    this.#inbound = links.inbound.map(({ peer, ring }) => ({
      peer,
      ring: new SpscRing(ring, this.doorbell),
    }));
  }

  /** Encodes `msg` into the link to `to`; visible to the peer after the next `flush`. */
  send(to: ActorId, msg: M): void {
    const link = this.#outbound.get(to);
    if (!link) throw new RangeError(`endpoint ${this.self} has no link to ${to}`);
    if (msg.sender !== this.self)
      assert.fail(`message ${msg.kind} from ${this.self} claims sender ${msg.sender}`);
    const again = msg === this.#lastMsg;
    const size = again ? this.#lastSize : this.#codec.sizeOf(msg);
    this.stats.sent++;
    link.dirty = true;
    if (link.backlog.length === 0) {
      const offset = link.ring.reserve(size);
      if (offset >= 0) {
        const bytes = link.ring.bytes;
        if (again)
          bytes.set(this.#lastBytes.subarray(this.#lastOffset, this.#lastOffset + size), offset);
        else this.#codec.encodeInto(msg, bytes, offset, size);
        link.ring.commit();
        this.#remember(msg, bytes, offset, size);
        return;
      }
    }
    const record = again
      ? this.#lastBytes.slice(this.#lastOffset, this.#lastOffset + size)
      : this.#codec.encode(msg);
    this.#holdBack(link, record);
    this.#remember(msg, record, 0, size);
  }

  #remember(msg: M, bytes: Uint8Array, offset: number, size: number): void {
    this.#lastMsg = msg;
    this.#lastBytes = bytes;
    this.#lastOffset = offset;
    this.#lastSize = size;
  }

  #holdBack(link: Outbound, record: Uint8Array): void {
    if (link.backlogBytes + record.byteLength > MAX_BACKLOG_BYTES_PER_LINK) {
      this.stats.backlogDrops++;
      return;
    }
    if (link.backlog.length === 0) this.#backlogLinks++;
    link.backlog.push(record);
    link.backlogBytes += record.byteLength;
    this.stats.backlogged++;
  }

  /** Moves backlogged records into rings that have room, then publishes every dirty ring. */
  flush(): void {
    this.#lastMsg = undefined;
    for (const link of this.#outbound.values()) {
      if (link.backlog.length > 0) this.#drainBacklog(link);
      if (link.dirty) {
        link.ring.publish();
        link.dirty = false;
      }
    }
  }

  #drainBacklog(link: Outbound): void {
    let moved = 0;
    for (const record of link.backlog) {
      const offset = link.ring.reserve(record.byteLength);
      if (offset < 0) break;
      link.ring.bytes.set(record, offset);
      link.ring.commit();
      link.backlogBytes -= record.byteLength;
      moved++;
    }
    if (moved > 0) {
      link.backlog.splice(0, moved);
      link.dirty = true;
      if (link.backlog.length === 0) this.#backlogLinks--;
    }
  }

  /** True while some link holds messages its ring had no room for. */
  hasBacklog(): boolean {
    return this.#backlogLinks > 0;
  }

  /**
   * Decodes and hands out up to POLL_BATCH_PER_RING records from each inbound ring. A record
   * that fails decoding, or claims another sender than its ring's producer, is dropped and
   * counted, never handed out.
   */
  poll(handler: (msg: M) => void): number {
    let n = 0;
    for (const { peer, ring } of this.#inbound) {
      n += ring.poll((bytes, offset, length) => {
        let msg: M;
        try {
          msg = this.#codec.decode(bytes, offset, length);
        } catch (err) {
          if (!(err instanceof CodecError)) throw err;
          this.stats.codecErrors++;
          return;
        }
        if (msg.sender !== peer) {
          this.stats.senderMismatches++;
          return;
        }
        this.stats.received++;
        handler(msg);
      }, POLL_BATCH_PER_RING);
    }
    return n;
  }

  isEmpty(): boolean {
    for (const { ring } of this.#inbound) if (!ring.isEmpty()) return false;
    return true;
  }

  /** Sleeps until some inbound ring has records (or `timeoutMs` passes). */
  wait(timeoutMs?: number): Promise<void> {
    return this.doorbell.wait(() => this.isEmpty(), timeoutMs);
  }

  /** Parks this thread until some inbound ring has records, for at most `timeoutMs`; false if it ran out. */
  waitSync(timeoutMs: number): boolean {
    return this.doorbell.waitSync(() => this.isEmpty(), timeoutMs);
  }

  /** Drops everything queued for this endpoint (a restarted actor starts with an empty inbox). */
  discardInbound(): void {
    for (const { ring } of this.#inbound) ring.discardAll();
  }
}
