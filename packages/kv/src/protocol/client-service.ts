import type { ActorId, ByteString } from '@heal/actors/core';
import { drainMap } from './drain-map.js';
import { getBatches } from './get-batches.js';
import type {
  ForwardPutMsg,
  GetItem,
  GetOkItem,
  KvMessage,
  PersistScopeMsg,
  PutMsg,
  ViewInfoMsg,
} from './messages.js';
import type { ReplicaRole } from './replica-role.js';
import { MAX_WAITING_OPS, type ClientRef, type Replication } from './replication.js';
import { RequestDedup } from './request-dedup.js';
import type { View } from './view.js';

/** Clients a replica tells of every view it installs (those that sent it requests), at most. */
export const MAX_KNOWN_CLIENTS = 4096;

const valueBytes = (item: GetOkItem): number => item.value.length;

export interface ClientServiceHost {
  readonly self: ActorId;
  role(): ReplicaRole;
  view(): View;
  holdsLease(): boolean;
  suspects(id: ActorId): boolean;
  readonly replication: Replication;
  send(to: ActorId, msg: KvMessage): void;
  /**
   * Test-only: a ShadowReplica serves reads, and clients are not told it is one (the checker must
   * catch it).
   */
  readonly shadowServesReads: boolean;
}

/**
 * Client requests at one replica, by its role (replica-role.ts): a full replica serves reads
 * under its lease (waiting for one if it has none) and coordinates writes; any other role
 * answers reads not-serving (the client asks another replica) and hands writes to a full
 * member. It also tells every client that sent it requests of each view it installs.
 *
 * Owned by the replica's thread.
 */
export class ClientService {
  readonly #leaseWaiters: { ref: ClientRef; key: string }[] = [];
  /** Answers to reads by client, sent in `flush` (see MAX_GET_ITEMS). */
  readonly #getReplies = new Map<ActorId, GetOkItem[]>();
  readonly #dedup = new RequestDedup();
  /** Clients that sent this replica requests: each is told of every view installed here. */
  readonly #clients = new Set<ActorId>();
  readonly stats = { forwarded: 0, notServing: 0, duplicateRequests: 0 };

  constructor(readonly host: ClientServiceHost) {}

  get leaseWaiters(): number {
    return this.#leaseWaiters.length;
  }

  /** A request from `client`: it will hear of the views installed here. */
  heardFrom(client: ActorId): void {
    if (this.#clients.size < MAX_KNOWN_CLIENTS) this.#clients.add(client);
  }

  /**
   * A get message's reads. One lease check serves them all: no other message is handled while
   * they are served, so they read what they would at the instant of the check, which lies
   * between each one's call and return.
   */
  onGets(client: ActorId, items: readonly GetItem[]): void {
    const role = this.host.role();
    const serving = role === 'full' || (role === 'shadow' && this.host.shadowServesReads);
    if (serving && this.host.holdsLease()) {
      this.host.replication.readAll(client, items);
      return;
    }
    for (const { reqId, key } of items) {
      const ref = { client, reqId };
      if (role !== 'full') this.notServing(ref);
      else if (this.#leaseWaiters.length >= MAX_WAITING_OPS)
        this.#reply(client, { kind: 'client-error', reqId, reason: 'busy' });
      else this.#leaseWaiters.push({ ref, key });
    }
  }

  /** Reads that waited for a lease: served once there is one; told not-serving if no longer full. */
  serveLeaseWaiters(): void {
    if (this.#leaseWaiters.length === 0) return;
    if (this.host.role() !== 'full') {
      for (const { ref } of this.#leaseWaiters.splice(0)) this.notServing(ref);
      return;
    }
    if (!this.host.holdsLease()) return;
    for (const { ref, key } of this.#leaseWaiters.splice(0)) this.host.replication.read(ref, key);
  }

  onPut(msg: PutMsg): void {
    const ref = { client: msg.sender, reqId: msg.reqId };
    if (!this.#firstTime(ref)) return;
    if (this.host.role() === 'full') {
      this.host.replication.write(ref, msg.key, msg.value);
      return;
    }
    // Not full: the write goes to a full member, which answers the client.
    const view = this.host.view();
    const target = view.members.find(
      (m) => m.id !== this.host.self && !view.shadows.includes(m.id) && !this.host.suspects(m.id),
    );
    if (!target) {
      this.notServing(ref);
      return;
    }
    this.stats.forwarded++;
    this.host.send(target.id, {
      kind: 'forward-put',
      epoch: view.epoch,
      sender: this.host.self,
      client: ref.client,
      reqId: ref.reqId,
      key: msg.key,
      value: msg.value,
    });
  }

  onForwardPut(msg: ForwardPutMsg): void {
    const ref = { client: msg.client, reqId: msg.reqId };
    if (!this.#firstTime(ref)) return;
    if (this.host.role() === 'full') this.host.replication.write(ref, msg.key, msg.value);
    else this.notServing(ref);
  }

  onPersistScope(msg: PersistScopeMsg): void {
    if (this.host.role() === 'full') this.host.replication.persistScope(msg);
    else this.notServing({ client: msg.sender, reqId: msg.reqId });
  }

  /** A request seen before at this replica is dropped: a put executes at most once here. */
  #firstTime(ref: ClientRef): boolean {
    if (this.#dedup.firstTime(ref.client, ref.reqId)) return true;
    this.stats.duplicateRequests++;
    return false;
  }

  queueGetReply(ref: ClientRef, value: ByteString | undefined): void {
    const item: GetOkItem = { reqId: ref.reqId, found: value !== undefined, value: value ?? '' };
    const queued = this.#getReplies.get(ref.client);
    if (queued) queued.push(item);
    else this.#getReplies.set(ref.client, [item]);
  }

  /** Each client's answered reads of this batch of handler calls, in get-oks of bounded size. */
  sendGetReplies(): void {
    drainMap(this.#getReplies, (items, client) => {
      for (const batch of getBatches(items, valueBytes)) {
        this.host.send(client, { kind: 'get-ok', epoch: 0, sender: this.host.self, items: batch });
      }
    });
  }

  replyPut(ref: ClientRef, ts: { version: number; cid: number }): void {
    this.host.send(ref.client, {
      kind: 'put-ok',
      epoch: 0,
      sender: this.host.self,
      reqId: ref.reqId,
      version: ts.version,
      cid: ts.cid,
    });
  }

  replyBusy(ref: ClientRef): void {
    this.#reply(ref.client, { kind: 'client-error', reqId: ref.reqId, reason: 'busy' });
  }

  /** The operation was not started here and never will be: the client asks another replica. */
  notServing(ref: ClientRef): void {
    this.stats.notServing++;
    this.#reply(ref.client, { kind: 'client-error', reqId: ref.reqId, reason: 'not-serving' });
  }

  #reply(
    client: ActorId,
    body: { kind: 'client-error'; reqId: number; reason: 'busy' | 'not-serving' },
  ): void {
    this.host.send(client, { ...body, epoch: 0, sender: this.host.self });
  }

  /**
   * Clients learn each view from the replicas they use, so an operation waiting at a replica
   * that left is redirected (a read) or given up (a write) at once, not after its timeout.
   */
  tellClients(view: View): void {
    const msg: ViewInfoMsg = {
      kind: 'view',
      epoch: view.epoch,
      sender: this.host.self,
      members: [...view.members],
      // The test fault that lets a shadow serve reads also hides it from clients, as a replica
      // believed full too early would be: otherwise no client would ask it.
      shadows: this.host.shadowServesReads ? [] : [...view.shadows],
    };
    for (const client of this.#clients) this.host.send(client, msg);
  }
}
