import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import type { KeyTs, KvMessage, PersistScopeMsg } from './messages.js';
import type { Ts } from './timestamp.js';
import type { View } from './view.js';

/** Persist-scope requests one replica coordinates at a time; past it: 'busy'. */
export const MAX_OPEN_SCOPES = 4096;
/** Scope-sync requests a replica holds until its next sync (answers owed to coordinators). */
export const MAX_SCOPE_ANSWERS = 1 << 16;

interface OpenScope {
  readonly client: ActorId;
  readonly reqId: number;
  readonly items: KeyTs[];
  readonly oks: Set<ActorId>;
  sentMs: number;
}

export interface PersistScopesHost {
  readonly self: ActorId;
  view(): View;
  now(): number;
  send(to: ActorId, msg: KvMessage): void;
  /** This replica's medium holds `key` at `ts` or later. */
  persistedAtLeast(key: string, ts: Ts): boolean;
  /** Sync in the next flush (a scope asked). */
  requestSync(): void;
}

const tsOf = (item: KeyTs): Ts => ({ version: item.version, cid: item.cid });

/**
 * The Scope model's persistScope() (ARCHITECTURE.md §5): the replica a client asks coordinates
 * it, sending every member the session's `(key, ts)` items; each member syncs in its next
 * flush and answers whether it holds each item (or a later ts of its key); the call completes
 * once every member of the current view said yes. Lost answers are asked for again each tick.
 *
 * Owned by the replica's thread (part of Durability).
 */
export class PersistScopes {
  readonly #scopes = new Map<number, OpenScope>();
  #answers: { to: ActorId; scopeId: number; items: KeyTs[] }[] = [];
  #nextScopeId = 1;
  readonly stats = { scopesCompleted: 0 };

  constructor(readonly host: PersistScopesHost) {}

  /** Coordinates a client's persistScope(): false when too many are open (the caller says busy). */
  open(msg: PersistScopeMsg): boolean {
    if (this.#scopes.size >= MAX_OPEN_SCOPES) return false;
    const scopeId = this.#nextScopeId++;
    this.#scopes.set(scopeId, {
      client: msg.sender,
      reqId: msg.reqId,
      items: msg.items,
      oks: new Set(),
      sentMs: this.host.now(),
    });
    this.#send(scopeId, false);
    return true;
  }

  #send(scopeId: number, onlyMissing: boolean): void {
    const scope = this.#scopes.get(scopeId);
    assert(scope, `scope ${scopeId} is open`);
    scope.sentMs = this.host.now();
    const view = this.host.view();
    for (const m of view.members) {
      if (onlyMissing && scope.oks.has(m.id)) continue;
      if (m.id === this.host.self) this.onSync(m.id, scopeId, scope.items);
      else
        this.host.send(m.id, {
          kind: 'scope-sync',
          epoch: view.epoch,
          sender: this.host.self,
          scopeId,
          items: scope.items,
        });
    }
  }

  /** Syncs in the next `flush`, then answers whether every item is persisted here. */
  onSync(from: ActorId, scopeId: number, items: KeyTs[]): void {
    if (this.#answers.length >= MAX_SCOPE_ANSWERS) return; // Dropped: the coordinator retries.
    this.host.requestSync();
    this.#answers.push({ to: from, scopeId, items });
  }

  onOk(from: ActorId, scopeId: number, ok: boolean): void {
    const scope = this.#scopes.get(scopeId);
    if (!scope || !ok) return; // Not yet: retried at the next tick.
    scope.oks.add(from);
    this.#check(scopeId, scope);
  }

  #check(scopeId: number, scope: OpenScope): void {
    for (const m of this.host.view().members) if (!scope.oks.has(m.id)) return;
    this.#scopes.delete(scopeId);
    this.stats.scopesCompleted++;
    this.host.send(scope.client, {
      kind: 'persist-scope-ok',
      epoch: 0,
      sender: this.host.self,
      reqId: scope.reqId,
    });
  }

  /** Asks again the members that have not answered yes within `retryMs`. */
  tick(retryMs: number): void {
    const now = this.host.now();
    for (const [scopeId, scope] of this.#scopes)
      if (now - scope.sentMs >= retryMs) this.#send(scopeId, true);
  }

  /** A new view: a scope may be complete now that a member is gone. */
  viewInstalled(): void {
    for (const [scopeId, scope] of [...this.#scopes]) this.#check(scopeId, scope);
  }

  /** After the sync of a flush: every member that asked gets its answer. */
  answer(): void {
    if (this.#answers.length === 0) return;
    const answers = this.#answers;
    this.#answers = [];
    for (const { to, scopeId, items } of answers) {
      const ok = items.every((item) => this.host.persistedAtLeast(item.key, tsOf(item)));
      if (to === this.host.self) this.onOk(to, scopeId, ok);
      else
        this.host.send(to, {
          kind: 'scope-ok',
          epoch: this.host.view().epoch,
          sender: this.host.self,
          scopeId,
          ok,
        });
    }
  }
}
