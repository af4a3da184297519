import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors';
import {
  incarnationOf, isMember, recordWireBytes, tsEquals,
  type KeyRecord, type RecoveryContext, type RecoveryReport, type RecoveryStrategy, type RecoveryStrategyFactory,
  type StrategyMessage, type StrategyOptions, type Ts, type View,
} from '@heal/kv';
import { BucketDigest } from './digest/bucket-digest.js';
import { DigestAuthError, signDigest, verifyDigest } from './digest/digest-auth.js';
import { keysInBuckets, MerkleDescent, newerAt } from './digest/merkle-descent.js';
import { VersionVector } from './digest/version-vector.js';
import {
  HEAL_BATCH_MAX_BYTES, HEAL_BATCH_MAX_ENTRIES, HEAL_HANDOFF_MAX_ITEMS, HEAL_KEYS_MAX_ENTRIES, HEAL_MESSAGES,
  type HealAcceptMsg, type HealBatchAckMsg, type HealBatchMsg, type HealDoneMsg, type HealDoneOkMsg, type HealEndMsg,
  type HealEntry, type HealHandoffMsg, type HealJoinMsg, type HealKeysMsg, type HealKeysRequestMsg, type HealNodesMsg,
  type HealAssistMsg, type HealNodesRequestMsg, type HealRejectMsg,
} from './heal-messages.js';
import { MissedUpdates, RECOVERY_BUFFER_BYTES_DEFAULT } from './missed-updates.js';
import { readStrategyOptions } from './strategy-options.js';
import { RecoveryMeter } from './recovery-meter.js';

/** Batches in flight per replay stream. */
export const HEAL_WINDOW_BATCHES = 8;
/** Handoff items a Buddy keeps for a failure it has not seen yet (its view lags the sender's). */
export const HEAL_EARLY_HANDOFF_MAX = 1 << 20;
/** Joins kept for a view this replica has not installed yet (one per joiner). */
export const HEAL_EARLY_JOINS_MAX = 64;
/** A descent's selection of at least this many keys is streamed by several sources in parallel. */
export const HEAL_PARALLEL_MIN_KEYS = 1024;
/** Sources streaming one joiner's descent keys (the Buddy included). */
export const HEAL_PARALLEL_SOURCES = 3;
/** Keys of the joiner's differing buckets the Buddy collects during a descent. */
export const HEAL_DESCENT_KEYS_MAX = 50_000_000;

/**
 * The Buddy of `failed` in `view` (DESIGN section 5, step 1): the next full member after it,
 * in id order, wrapping around. Every replica computes the same one from the same view.
 */
export function buddyOf(view: View, failed: ActorId): ActorId | undefined {
  let first: ActorId | undefined;
  let next: ActorId | undefined;
  for (const m of view.members) {
    if (m.id === failed || view.shadows.includes(m.id)) continue;
    if (first === undefined || m.id < first) first = m.id;
    if (m.id > failed && (next === undefined || m.id < next)) next = m.id;
  }
  return next ?? first;
}

/** The Buddy's side of one joiner's recovery. */
interface BuddySession {
  joiner: ActorId;
  /** Streams in all (this one included); a helper's session streams part of a descent's keys. */
  sources: number;
  helper: boolean;
  /** A helper's keys arrive in chunks. */
  chunks: Map<number, string[]> | undefined;
  session: number;
  epoch: number;
  mode: 'buffer' | 'descent';
  descent: MerkleDescent | undefined;
  /** The joiner's `(key, ts)` of the differing buckets, gathered part by part. */
  remote: Map<string, Ts> | undefined;
  parts: Set<number>;
  lastPart: number | undefined;
  buckets: Set<number> | undefined;
  /** Selected keys, streamed in order; batch `b` covers `keys[starts[b]..starts[b+1])`. */
  keys: string[] | undefined;
  starts: number[];
  next: number;
  acked: Set<number>;
  ackedBelow: number;
  ended: boolean;
  progressMs: number;
}

/** The rejoining replica's side. */
interface JoinSession {
  buddy: ActorId;
  session: number;
  epoch: number;
  accepted: boolean;
  /** Per source (the Buddy, and helpers streaming descent keys in parallel): batches received. */
  received: Map<ActorId, Set<number>>;
  /** Per source: its batch count, from its end. */
  totals: Map<ActorId, number>;
  /** How many sources stream (known from the first end). */
  sources: number | undefined;
  batches: number;
  doneSent: boolean;
  progressMs: number;
}

/**
 * HEAL (DESIGN section 5): the Buddy named by the view that removes a failed replica records
 * what it misses; the restarted replica loads its medium, is admitted as a ShadowReplica and
 * sends its digest (version vector and Merkle root); the Buddy selects from its buffer what the
 * joiner provably lacks, or finds it by Merkle descent where the buffer cannot cover the gap,
 * and streams it (newer-ts-only installs); the joiner confirms and then serves reads.
 */
class HealRecovery implements RecoveryStrategy {
  readonly name = 'heal';
  readonly #digest = new BucketDigest();
  readonly #buffers = new Map<ActorId, MissedUpdates>();
  readonly #earlyHandoffs = new Map<ActorId, string[]>();
  #earlyHandoffItems = 0;
  readonly #serving = new Map<ActorId, BuddySession>();
  readonly #earlyJoins = new Map<ActorId, HealJoinMsg>();
  #joining: JoinSession | undefined;
  /** What the medium kept at this incarnation's start: the digest a joiner sends. */
  #heldVv = new VersionVector();
  #kept = false;
  #nextSession = 1;
  readonly #meter = new RecoveryMeter('heal', HEAL_MESSAGES);
  readonly #bufferBytes: number;
  readonly #clusterKey: Uint8Array | undefined;
  readonly #stats = {
    handoffItemsSent: 0, handoffItemsTaken: 0, buffers: 0, sessionsServed: 0,
    sessionsBuffer: 0, sessionsDescent: 0, selectedKeys: 0, entriesStreamed: 0, descentRounds: 0,
    digestsRejected: 0, joinsRejected: 0, healSessions: 0, healEntriesApplied: 0, sessionsAssisted: 0,
  };

  constructor(readonly self: ActorId, options: StrategyOptions) {
    const o = readStrategyOptions('heal', options);
    this.#bufferBytes = o.positiveInt('bufferBytes', RECOVERY_BUFFER_BYTES_DEFAULT);
    this.#clusterKey = o.hexKey('clusterKey');
  }

  onStart(ctx: RecoveryContext): void {
    const held: { origin: number; seq: number }[] = [];
    for (const record of ctx.records().values()) {
      this.#digest.update(record.key, undefined, record.ts);
      if (record.seq > 0) held.push({ origin: record.origin, seq: record.seq });
    }
    this.#heldVv = VersionVector.fromHeld(held);
    this.#kept = ctx.records().size > 0;
    if (ctx.incarnation > 0) this.#meter.begin(ctx);
  }

  onApply(_ctx: RecoveryContext, record: KeyRecord, previous: Ts | undefined): void {
    if (previous !== undefined && tsEquals(previous, record.ts)) return;
    this.#digest.update(record.key, previous, record.ts);
    if (this.#buffers.size === 0) return;
    const bytes = recordWireBytes(record);
    for (const buffer of this.#buffers.values()) buffer.record(record.key, bytes);
  }

  // ---- Views --------------------------------------------------------------------------------

  onViewInstalled(ctx: RecoveryContext, previous: View): void {
    const view = ctx.view;
    for (const [joiner, s] of this.#serving) if (s.epoch !== view.epoch || !isMember(view, joiner)) this.#serving.delete(joiner);
    if (!ctx.admitted) return;
    const wasFull = incarnationOf(previous, this.self) === ctx.incarnation && !previous.shadows.includes(this.self);
    for (const m of previous.members) {
      if (incarnationOf(view, m.id) === m.incarnation) continue;
      // `m` left (or restarted and is re-admitted in the same view): hand its Buddy what it may lack.
      const buddy = buddyOf(view, m.id);
      if (buddy === undefined) continue;
      // Only a full member of the old view knows what was not at DP in it (not a replica that was itself out).
      if (wasFull && m.id !== this.self) this.#handoff(ctx, m.id, buddy);
      if (buddy !== this.self || isMember(view, m.id)) continue;
      const buffer = this.#buffers.get(m.id);
      if (buffer) buffer.reopen();
      else this.#openBuffer(ctx, m.id, wasFull && !ctx.recovering);
    }
    for (const [failed, buffer] of this.#buffers) {
      if (buddyOf(view, failed) !== this.self) this.#buffers.delete(failed);
      else if (isMember(view, failed)) buffer.close();
    }
    if (this.#joining && ctx.recovering) this.#join(ctx);
    for (const [joiner, join] of [...this.#earlyJoins]) {
      if (join.epoch > view.epoch) continue;
      this.#earlyJoins.delete(joiner);
      if (join.epoch === view.epoch) this.#onJoin(ctx, join);
    }
  }

  #openBuffer(ctx: RecoveryContext, failed: ActorId, complete: boolean): void {
    const buffer = new MissedUpdates(failed, this.#bufferBytes, complete);
    this.#buffers.set(failed, buffer);
    this.#stats.buffers++;
    const early = this.#earlyHandoffs.get(failed);
    if (early) {
      this.#earlyHandoffs.delete(failed);
      this.#earlyHandoffItems -= early.length;
      for (const key of early) this.#takeHandoff(ctx, buffer, key);
    }
  }

  /** DESIGN section 5, step 2: every write held here that was not at DP goes to the Buddy. */
  #handoff(ctx: RecoveryContext, failed: ActorId, buddy: ActorId): void {
    const items: HealHandoffMsg['items'] = [];
    const flush = (): void => {
      this.#stats.handoffItemsSent += items.length;
      if (buddy === this.self) {
        for (const item of items) this.#onHandoffItem(ctx, failed, item.key);
      } else {
        ctx.send(buddy, { kind: 'heal-handoff', failed, items: items.splice(0) });
      }
      items.length = 0;
    };
    for (const r of ctx.notDurable()) {
      items.push({ key: r.key, version: r.ts.version, cid: r.ts.cid, origin: r.origin, seq: r.seq });
      if (items.length === HEAL_HANDOFF_MAX_ITEMS) flush();
    }
    if (items.length > 0) flush();
  }

  #onHandoffItem(ctx: RecoveryContext, failed: ActorId, key: string): void {
    const buffer = this.#buffers.get(failed);
    if (buffer) {
      this.#takeHandoff(ctx, buffer, key);
      return;
    }
    // The handoff overtook the view change here: keep it until the buffer opens.
    if (this.#earlyHandoffItems >= HEAL_EARLY_HANDOFF_MAX) return;
    const early = this.#earlyHandoffs.get(failed) ?? [];
    early.push(key);
    this.#earlyHandoffs.set(failed, early);
    this.#earlyHandoffItems++;
  }

  #takeHandoff(ctx: RecoveryContext, buffer: MissedUpdates, key: string): void {
    this.#stats.handoffItemsTaken++;
    // The Buddy holds this write or a newer one (or takes it from the re-sent INV, recorded then).
    const record = ctx.records().get(key);
    if (record) buffer.record(key, recordWireBytes(record));
  }

  // ---- The rejoining replica ----------------------------------------------------------------

  onAdmitted(ctx: RecoveryContext): void {
    this.#meter.phase('join', ctx.now());
    this.#join(ctx);
  }

  /** Starts (or restarts, in a newer view) the join with the Buddy: sends the digest. */
  #join(ctx: RecoveryContext): void {
    const buddy = buddyOf(ctx.view, this.self);
    if (buddy === undefined) {
      this.#joining = undefined;
      return;
    }
    // Unique across this replica's incarnations, so a stream of an earlier life is never taken for this one.
    const session = (((ctx.incarnation & 0xff) << 24) | ((this.self & 0xff) << 16) | (this.#nextSession++ & 0xffff)) >>> 0;
    this.#joining = {
      buddy, session, epoch: ctx.view.epoch, accepted: false, received: new Map(), totals: new Map(), sources: undefined,
      batches: 0, doneSent: false, progressMs: ctx.now(),
    };
    this.#stats.healSessions++;
    this.#sendJoin(ctx, this.#joining);
  }

  /** The digest: the Merkle root now (writes go on) and the vector of what the medium kept. */
  #sendJoin(ctx: RecoveryContext, j: JoinSession): void {
    const root = this.#digest.root();
    const vv = this.#heldVv.entries();
    const claim = { epoch: j.epoch, replica: this.self, incarnation: ctx.incarnation, root, vv };
    const mac = this.#clusterKey ? signDigest(this.#clusterKey, claim) : '';
    ctx.send(j.buddy, { kind: 'heal-join', session: j.session, incarnation: ctx.incarnation, root, kept: this.#kept, vv, mac });
  }

  /** The join session a message belongs to; `anySource`: a stream message, from the Buddy or a helper. */
  #current(ctx: RecoveryContext, msg: { session: number; sender: ActorId }, anySource = false): JoinSession | undefined {
    const j = this.#joining;
    if (!j || !ctx.recovering || msg.session !== j.session) return undefined;
    if (msg.sender !== j.buddy && !(anySource && isMember(ctx.view, msg.sender))) return undefined;
    return j;
  }

  #onAccept(ctx: RecoveryContext, msg: HealAcceptMsg): void {
    const j = this.#current(ctx, msg);
    if (j) this.#accepted(ctx, j);
  }

  /** Start-to-ack ends with the Buddy's accept, or whatever of the stream overtook it. */
  #accepted(ctx: RecoveryContext, j: JoinSession): void {
    j.progressMs = ctx.now();
    if (j.accepted) return;
    j.accepted = true;
    this.#meter.phase('startToAck', ctx.now());
  }

  #onNodesRequest(ctx: RecoveryContext, msg: HealNodesRequestMsg): void {
    const j = this.#current(ctx, msg);
    if (!j) return;
    j.progressMs = ctx.now();
    const hashes = this.#digest.nodes(msg.level, msg.indices);
    ctx.send(j.buddy, { kind: 'heal-nodes', session: j.session, level: msg.level, indices: msg.indices, hashes });
  }

  #onKeysRequest(ctx: RecoveryContext, msg: HealKeysRequestMsg): void {
    const j = this.#current(ctx, msg);
    if (!j) return;
    j.progressMs = ctx.now();
    const held = keysInBuckets(ctx.records().values(), this.#digest, new Set(msg.buckets));
    let part = 0;
    let entries: HealKeysMsg['entries'] = [];
    const send = (last: boolean): void => {
      ctx.send(j.buddy, { kind: 'heal-keys', session: j.session, part: part++, last, entries });
      entries = [];
    };
    for (const [key, ts] of held) {
      entries.push({ key, version: ts.version, cid: ts.cid });
      if (entries.length === HEAL_KEYS_MAX_ENTRIES) send(false);
    }
    send(true);
  }

  #onBatch(ctx: RecoveryContext, msg: HealBatchMsg): void {
    const j = this.#current(ctx, msg, true);
    if (!j) return;
    ctx.send(msg.sender, { kind: 'heal-batch-ack', session: j.session, batch: msg.batch });
    const received = j.received.get(msg.sender) ?? new Set<number>();
    j.received.set(msg.sender, received);
    if (received.has(msg.batch)) return;
    this.#accepted(ctx, j);
    if (j.batches === 0) this.#meter.phase('exchange', ctx.now());
    received.add(msg.batch);
    j.batches++;
    let applied = 0;
    for (const e of msg.entries) {
      const record: KeyRecord = { key: e.key, ts: { version: e.version, cid: e.cid }, value: e.value, state: e.state, origin: e.origin, seq: e.seq };
      if (ctx.installRecovered(record, msg.sender)) applied++;
    }
    this.#stats.healEntriesApplied += applied;
    this.#meter.entries(msg.entries.length, applied);
    this.#maybeDone(ctx, j);
  }

  #onEnd(ctx: RecoveryContext, msg: HealEndMsg): void {
    const j = this.#current(ctx, msg, true);
    if (!j || j.totals.has(msg.sender)) return;
    this.#accepted(ctx, j);
    j.totals.set(msg.sender, msg.batches);
    if (j.sources === undefined) {
      j.sources = msg.sources;
      this.#meter.count(msg.mode === 'buffer' ? 'bufferSessions' : 'descentSessions');
      if (msg.sources > 1) this.#meter.count('parallelSources', msg.sources);
    }
    this.#maybeDone(ctx, j);
  }

  /** Consistency reinforcement: every source's every batch is here; ask the Buddy to confirm. */
  #maybeDone(ctx: RecoveryContext, j: JoinSession): void {
    if (j.doneSent || j.sources === undefined || j.totals.size < j.sources) return;
    for (const [source, total] of j.totals) if ((j.received.get(source)?.size ?? 0) < total) return;
    if (j.batches === 0) this.#meter.phase('exchange', ctx.now());
    this.#meter.phase('replay', ctx.now());
    j.doneSent = true;
    ctx.send(j.buddy, { kind: 'heal-done', session: j.session });
  }

  #onDoneOk(ctx: RecoveryContext, msg: HealDoneOkMsg): void {
    const j = this.#current(ctx, msg);
    if (!j || !j.doneSent) return;
    this.#joining = undefined;
    this.#meter.finish('finalize', ctx.now());
    ctx.finishRecovery();
  }

  /** The Buddy refused the digest (e.g. it failed authentication): the join is retried, never trusted. */
  #onReject(ctx: RecoveryContext, msg: HealRejectMsg): void {
    if (this.#current(ctx, msg)) this.#stats.joinsRejected++;
  }

  // ---- The Buddy ----------------------------------------------------------------------------

  #onJoin(ctx: RecoveryContext, msg: HealJoinMsg): void {
    const view = ctx.view;
    const joiner = msg.sender;
    if (msg.epoch > view.epoch) {
      // The joiner installed the admitting view first: answer once this replica installs it.
      if (this.#earlyJoins.size < HEAL_EARLY_JOINS_MAX || this.#earlyJoins.has(joiner)) this.#earlyJoins.set(joiner, msg);
      return;
    }
    if (!ctx.admitted || ctx.recovering || msg.epoch !== view.epoch || incarnationOf(view, joiner) !== msg.incarnation) return;
    if (buddyOf(view, joiner) !== this.self) return;
    const existing = this.#serving.get(joiner);
    if (existing && existing.session === msg.session) return;
    try {
      verifyDigest(this.#clusterKey, { epoch: msg.epoch, replica: joiner, incarnation: msg.incarnation, root: msg.root, vv: msg.vv },
        msg.mac === '' ? undefined : msg.mac);
    } catch (err) {
      if (!(err instanceof DigestAuthError)) throw err;
      this.#stats.digestsRejected++;
      ctx.send(joiner, { kind: 'heal-reject', session: msg.session, reason: err.message });
      return;
    }
    const buffer = this.#buffers.get(joiner);
    const mode = buffer?.covers === true && msg.kept ? 'buffer' : 'descent';
    const s: BuddySession = {
      joiner, sources: 1, helper: false, chunks: undefined, session: msg.session, epoch: msg.epoch, mode, descent: undefined, remote: undefined, parts: new Set(),
      lastPart: undefined, buckets: undefined, keys: undefined, starts: [], next: 0, acked: new Set(), ackedBelow: 0,
      ended: false, progressMs: ctx.now(),
    };
    this.#serving.set(joiner, s);
    this.#stats.sessionsServed++;
    if (mode === 'buffer') {
      this.#stats.sessionsBuffer++;
      const vv = VersionVector.fromEntries(msg.vv);
      const records = ctx.records();
      const keys: string[] = [];
      for (const key of (buffer as MissedUpdates).keyList()) {
        const record = records.get(key);
        // The vector lets the Buddy skip only writes the joiner provably holds.
        if (record && !vv.covers(record.origin, record.seq)) keys.push(key);
      }
      s.keys = keys;
      this.#stats.selectedKeys += keys.length;
      ctx.send(joiner, { kind: 'heal-accept', session: s.session, mode, selected: keys.length });
      this.#pump(ctx, s);
      return;
    }
    this.#stats.sessionsDescent++;
    s.descent = new MerkleDescent(this.#digest, msg.root);
    ctx.send(joiner, { kind: 'heal-accept', session: s.session, mode, selected: 0 });
    this.#descend(ctx, s);
  }

  #descend(ctx: RecoveryContext, s: BuddySession): void {
    const descent = s.descent as MerkleDescent;
    const request = descent.next();
    if (request) {
      ctx.send(s.joiner, { kind: 'heal-nodes-request', session: s.session, level: request.level, indices: request.indices });
      return;
    }
    this.#stats.descentRounds += descent.rounds;
    s.buckets = new Set(descent.differingBuckets);
    s.remote = new Map();
    if (s.buckets.size === 0) {
      this.#select(ctx, s);
      return;
    }
    ctx.send(s.joiner, { kind: 'heal-keys-request', session: s.session, buckets: [...s.buckets] });
  }

  #serve(ctx: RecoveryContext, msg: { session: number; sender: ActorId }): BuddySession | undefined {
    const s = this.#serving.get(msg.sender);
    if (!s || s.session !== msg.session || ctx.recovering) return undefined;
    s.progressMs = ctx.now();
    return s;
  }

  #onNodes(ctx: RecoveryContext, msg: HealNodesMsg): void {
    const s = this.#serve(ctx, msg);
    if (!s?.descent || s.buckets) return;
    if (s.descent.onRemote(msg.level, msg.indices, msg.hashes)) this.#descend(ctx, s);
  }

  #onKeys(ctx: RecoveryContext, msg: HealKeysMsg): void {
    const s = this.#serve(ctx, msg);
    if (!s?.remote || s.keys || s.parts.has(msg.part)) return;
    s.parts.add(msg.part);
    if (msg.last) s.lastPart = msg.part;
    assert(s.remote.size + msg.entries.length <= HEAL_DESCENT_KEYS_MAX, `descent of joiner ${s.joiner} collects over ${HEAL_DESCENT_KEYS_MAX} keys`);
    for (const e of msg.entries) s.remote.set(e.key, { version: e.version, cid: e.cid });
    if (s.lastPart !== undefined && s.parts.size === s.lastPart + 1) this.#select(ctx, s);
  }

  /** The descent is done: exactly the keys of the differing buckets the Buddy holds newer. */
  #select(ctx: RecoveryContext, s: BuddySession): void {
    const local = keysInBuckets(ctx.records().values(), this.#digest, s.buckets as Set<number>);
    const keys = newerAt(local, s.remote as Map<string, Ts>);
    s.remote = undefined;
    this.#stats.selectedKeys += keys.length;
    // Large selections are streamed by several full members in parallel, a slice each.
    const view = ctx.view;
    const helpers = keys.length < HEAL_PARALLEL_MIN_KEYS ? [] : view.members
      .map((m) => m.id)
      .filter((id) => id !== this.self && id !== s.joiner && !view.shadows.includes(id))
      .slice(0, HEAL_PARALLEL_SOURCES - 1);
    s.sources = helpers.length + 1;
    const slice = Math.ceil(keys.length / s.sources);
    s.keys = keys.slice(0, slice);
    helpers.forEach((helper, i) => {
      const part = keys.slice((i + 1) * slice, (i + 2) * slice);
      const chunks = Math.max(1, Math.ceil(part.length / HEAL_KEYS_MAX_ENTRIES));
      for (let c = 0; c < chunks; c++) {
        ctx.send(helper, {
          kind: 'heal-assist', session: s.session, joiner: s.joiner, incarnation: incarnationOf(view, s.joiner) ?? 0,
          sources: s.sources, chunk: c, chunks, keys: part.slice(c * HEAL_KEYS_MAX_ENTRIES, (c + 1) * HEAL_KEYS_MAX_ENTRIES),
        });
      }
    });
    this.#pump(ctx, s);
  }

  /** A helper's share of a descent's keys: streamed to the joiner like the Buddy's own. */
  #onAssist(ctx: RecoveryContext, msg: HealAssistMsg): void {
    const view = ctx.view;
    if (!ctx.admitted || ctx.recovering || msg.epoch !== view.epoch || incarnationOf(view, msg.joiner) !== msg.incarnation) return;
    let s = this.#serving.get(msg.joiner);
    if (!s || s.session !== msg.session) {
      s = {
        joiner: msg.joiner, sources: msg.sources, helper: true, chunks: new Map(), session: msg.session, epoch: msg.epoch,
        mode: 'descent', descent: undefined, remote: undefined, parts: new Set(), lastPart: undefined, buckets: undefined,
        keys: undefined, starts: [], next: 0, acked: new Set(), ackedBelow: 0, ended: false, progressMs: ctx.now(),
      };
      this.#serving.set(msg.joiner, s);
      this.#stats.sessionsAssisted++;
    }
    if (!s.chunks || s.keys) return;
    s.chunks.set(msg.chunk, msg.keys);
    if (s.chunks.size < msg.chunks) return;
    s.keys = [];
    for (let c = 0; c < msg.chunks; c++) s.keys.push(...(s.chunks.get(c) as string[]));
    s.chunks = undefined;
    this.#pump(ctx, s);
  }

  /** Streams the selection in batches, at most HEAL_WINDOW_BATCHES unacknowledged. */
  #pump(ctx: RecoveryContext, s: BuddySession): void {
    const keys = s.keys as string[];
    while (s.next < keys.length && s.starts.length - s.ackedBelow < HEAL_WINDOW_BATCHES) {
      const batch = s.starts.length;
      s.starts.push(s.next);
      s.next = this.#sendBatch(ctx, s, batch, s.next, keys.length);
    }
    if (s.next >= keys.length && !s.ended) {
      s.ended = true;
      ctx.send(s.joiner, { kind: 'heal-end', session: s.session, mode: s.mode, batches: s.starts.length, sources: s.sources });
      // A helper's part is done once the joiner holds it (its acks); the Buddy's when the joiner confirms.
    }
  }

  /** Sends keys[from..) up to the batch bounds (or `end`); returns where it stopped. */
  #sendBatch(ctx: RecoveryContext, s: BuddySession, batch: number, from: number, end: number): number {
    const keys = s.keys as string[];
    const records = ctx.records();
    const entries: HealEntry[] = [];
    let bytes = 0;
    let i = from;
    while (i < end && entries.length < HEAL_BATCH_MAX_ENTRIES && bytes < HEAL_BATCH_MAX_BYTES) {
      const record = records.get(keys[i++] as string);
      if (!record) continue;
      entries.push({ key: record.key, version: record.ts.version, cid: record.ts.cid, value: record.value,
        state: record.state, origin: record.origin, seq: record.seq });
      bytes += recordWireBytes(record);
    }
    this.#stats.entriesStreamed += entries.length;
    ctx.send(s.joiner, { kind: 'heal-batch', session: s.session, batch, entries });
    return i;
  }

  #onBatchAck(ctx: RecoveryContext, msg: HealBatchAckMsg): void {
    const s = this.#serve(ctx, msg);
    if (!s) return;
    s.acked.add(msg.batch);
    while (s.acked.has(s.ackedBelow)) s.acked.delete(s.ackedBelow++);
    this.#pump(ctx, s);
    if (s.helper && s.ended && s.ackedBelow === s.starts.length) this.#serving.delete(s.joiner);
  }

  #onDone(ctx: RecoveryContext, msg: HealDoneMsg): void {
    const s = this.#serve(ctx, msg);
    if (!s?.ended) return;
    this.#serving.delete(s.joiner);
    this.#buffers.delete(s.joiner);
    ctx.send(s.joiner, { kind: 'heal-done-ok', session: s.session });
  }

  // ---- Dispatch and timers ------------------------------------------------------------------

  receive(ctx: RecoveryContext, msg: StrategyMessage): void {
    if (ctx.recovering && this.#joining) this.#meter.received(msg);
    switch (msg.kind) {
      case 'heal-handoff':
        for (const item of (msg as unknown as HealHandoffMsg).items) this.#onHandoffItem(ctx, (msg as unknown as HealHandoffMsg).failed, item.key);
        return;
      case 'heal-join': return this.#onJoin(ctx, msg as unknown as HealJoinMsg);
      case 'heal-accept': return this.#onAccept(ctx, msg as unknown as HealAcceptMsg);
      case 'heal-reject': return this.#onReject(ctx, msg as unknown as HealRejectMsg);
      case 'heal-nodes-request': return this.#onNodesRequest(ctx, msg as unknown as HealNodesRequestMsg);
      case 'heal-nodes': return this.#onNodes(ctx, msg as unknown as HealNodesMsg);
      case 'heal-keys-request': return this.#onKeysRequest(ctx, msg as unknown as HealKeysRequestMsg);
      case 'heal-keys': return this.#onKeys(ctx, msg as unknown as HealKeysMsg);
      case 'heal-batch': return this.#onBatch(ctx, msg as unknown as HealBatchMsg);
      case 'heal-batch-ack': return this.#onBatchAck(ctx, msg as unknown as HealBatchAckMsg);
      case 'heal-end': return this.#onEnd(ctx, msg as unknown as HealEndMsg);
      case 'heal-done': return this.#onDone(ctx, msg as unknown as HealDoneMsg);
      case 'heal-done-ok': return this.#onDoneOk(ctx, msg as unknown as HealDoneOkMsg);
      case 'heal-assist': return this.#onAssist(ctx, msg as unknown as HealAssistMsg);
    }
  }

  tick(ctx: RecoveryContext): void {
    const now = ctx.now();
    const retransmitMs = ctx.timing.retransmitMs;
    // A join that stopped making progress (lost message, Buddy gone) starts over.
    const j = this.#joining;
    if (j && ctx.recovering) {
      // The Buddy may not have installed the admitting view yet: ask again, same session.
      if (!j.accepted && now - j.progressMs > retransmitMs) {
        j.progressMs = now;
        this.#sendJoin(ctx, j);
      } else if (now - j.progressMs > 4 * retransmitMs) this.#join(ctx);
    }
    for (const s of this.#serving.values()) {
      if (now - s.progressMs <= retransmitMs) continue;
      s.progressMs = now;
      if (s.descent && !s.buckets) this.#descend(ctx, s);
      else if (s.keys) this.#resend(ctx, s);
    }
  }

  /** Re-sends every unacknowledged batch (and the end) of a stalled stream. */
  #resend(ctx: RecoveryContext, s: BuddySession): void {
    const keys = s.keys as string[];
    for (let b = s.ackedBelow; b < s.starts.length; b++) {
      if (!s.acked.has(b)) this.#sendBatch(ctx, s, b, s.starts[b] as number, s.starts[b + 1] ?? keys.length);
    }
    if (s.ended) ctx.send(s.joiner, { kind: 'heal-end', session: s.session, mode: s.mode, batches: s.starts.length, sources: s.sources });
  }

  stats(): Record<string, number> {
    let bufferKeys = 0;
    let bufferBytes = 0;
    let overflowed = 0;
    for (const b of this.#buffers.values()) {
      bufferKeys += b.keys;
      bufferBytes += b.bytes;
      if (b.overflow) overflowed++;
    }
    return { ...this.#stats, missedBufferKeys: bufferKeys, missedBufferBytes: bufferBytes, buffersOverflowed: overflowed, bufferedFor: this.#buffers.size };
  }

  report(): RecoveryReport | undefined {
    return this.#meter.report();
  }
}

export const healRecovery: RecoveryStrategyFactory = {
  name: 'heal',
  messages: HEAL_MESSAGES,
  create: (self, options) => new HealRecovery(self, options),
};
