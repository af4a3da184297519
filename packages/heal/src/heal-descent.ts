import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import { incarnationOf, type BucketDigest, type RecoveryContext } from '@heal/kv/replica';
import { keysInBuckets, newerAt, type MerkleDescent } from './digest/merkle-descent.js';
import type { HealFaults } from './heal-faults.js';
import { HEAL_KEYS_MAX_ENTRIES, type HealKeysMsg, type HealNodesMsg } from './heal-messages.js';
import { sendAssists, type ServingSession } from './heal-serving.js';
import { descentHelpers } from './roles.js';

/** A descent's selection of at least this many keys is streamed by several sources in parallel. */
export const HEAL_PARALLEL_MIN_KEYS = 1024;
/** Sources streaming one joiner's descent keys (the Buddy included). */
export const HEAL_PARALLEL_SOURCES = 3;
/** Keys of the joiner's differing buckets the Buddy collects during a descent. */
export const HEAL_DESCENT_KEYS_MAX = 50_000_000;

/** What the descent needs from the Buddy around it. */
export interface BuddyDescentHost {
  readonly self: ActorId;
  readonly digest: BucketDigest;
  readonly faults: HealFaults;
  readonly stats: { descentRounds: number; selectedKeys: number };
  /** Starts streaming `keys` to the joiner of `s`. */
  stream(ctx: RecoveryContext, s: ServingSession, keys: string[]): void;
}

/**
 * The Buddy's Merkle descent of a joiner whose buffer does not cover its outage
 * (docs/ARCHITECTURE.md, "HEAL"): compares this replica's digest tree with the joiner's, gathers
 * the joiner's keys of the differing buckets, and selects those this replica holds newer; a large
 * selection is split among helpers that stream their slice beside the Buddy. Owned by the
 * replica's thread.
 */
export class BuddyDescent {
  constructor(private readonly host: BuddyDescentHost) {}

  /** Asks for the next level of the joiner's tree, or, at the bottom, for its keys. */
  descend(ctx: RecoveryContext, s: ServingSession): void {
    const descent = s.descent as MerkleDescent;
    const request = descent.next();
    if (request) {
      ctx.send(s.joiner, {
        kind: 'heal-nodes-request',
        session: s.session,
        level: request.level,
        indices: request.indices,
      });
      return;
    }
    this.host.stats.descentRounds += descent.rounds;
    s.buckets = descent.differingBuckets;
    if (this.host.faults.descentSkipsBucket && s.buckets.length > 0) s.buckets.shift();
    if (s.buckets.length === 0) {
      this.#select(ctx, s);
      return;
    }
    s.phase = 'keys';
    this.requestKeys(ctx, s);
  }

  requestKeys(ctx: RecoveryContext, s: ServingSession): void {
    s.keysAttempt++;
    s.remote.clear();
    s.parts.clear();
    s.lastPart = undefined;
    ctx.send(s.joiner, {
      kind: 'heal-keys-request',
      session: s.session,
      attempt: s.keysAttempt,
      buckets: s.buckets as number[],
    });
  }

  onNodes(ctx: RecoveryContext, s: ServingSession, msg: HealNodesMsg): void {
    if (s.phase !== 'descent' || !s.descent) return;
    if (s.descent.onRemote(msg.level, msg.indices, msg.hashes)) this.descend(ctx, s);
  }

  onKeys(ctx: RecoveryContext, s: ServingSession, msg: HealKeysMsg): void {
    if (s.phase !== 'keys' || msg.attempt !== s.keysAttempt || s.parts.has(msg.part)) return;
    s.parts.add(msg.part);
    if (msg.last) s.lastPart = msg.part;
    assert(
      s.remote.size + msg.entries.length <= HEAL_DESCENT_KEYS_MAX,
      `descent of joiner ${s.joiner} collects over ${HEAL_DESCENT_KEYS_MAX} keys`,
    );
    for (const e of msg.entries) s.remote.set(e.key, { version: e.version, cid: e.cid });
    if (s.lastPart !== undefined && s.parts.size === s.lastPart + 1) this.#select(ctx, s);
  }

  /** The descent is done: exactly the keys of the differing buckets this replica holds newer. */
  #select(ctx: RecoveryContext, s: ServingSession): void {
    const { digest, stats } = this.host;
    const buckets = new Set(s.buckets);
    const local = keysInBuckets(ctx.recordsInBuckets(buckets), digest, buckets);
    const keys = newerAt(local, s.remote);
    s.remote = new Map();
    s.phase = 'stream';
    stats.selectedKeys += keys.length;
    // Large selections are streamed by several full members in parallel, a slice each.
    const view = ctx.view;
    const helpers =
      keys.length < HEAL_PARALLEL_MIN_KEYS
        ? []
        : descentHelpers(view, this.host.self, s.joiner, HEAL_PARALLEL_SOURCES - 1);
    s.sources = helpers.length + 1;
    const slice = Math.ceil(keys.length / s.sources);
    helpers.forEach((to, i) => {
      const part = keys.slice((i + 1) * slice, (i + 2) * slice);
      const chunks = Math.max(1, Math.ceil(part.length / HEAL_KEYS_MAX_ENTRIES));
      for (let c = 0; c < chunks; c++) {
        s.assists.push({
          to,
          msg: {
            kind: 'heal-assist',
            session: s.session,
            joiner: s.joiner,
            incarnation: incarnationOf(view, s.joiner) ?? 0,
            sources: s.sources,
            chunk: c,
            chunks,
            keys: part.slice(c * HEAL_KEYS_MAX_ENTRIES, (c + 1) * HEAL_KEYS_MAX_ENTRIES),
          },
        });
      }
    });
    sendAssists(ctx, s);
    this.host.stream(ctx, s, keys.slice(0, slice));
  }
}
