import { defineMessage, fields as f, type ActorId, type MessageOf } from '@heal/actors/core';
import type { StrategyMessage } from '../protocol/messages.js';
import type { RecoveryContext, RecoveryStrategy, RecoveryStrategyFactory } from '../protocol/recovery-strategy.js';
import { isMember } from '../protocol/view.js';
import { KEY_STATES, type KeyRecord } from '../storage/key-record.js';

/**
 * The built-in recovery of `kv`: a re-admitted replica asks one full member (the donor) for a
 * copy of its whole store, streamed in acknowledged batches, while it already takes part in
 * new writes as a ShadowReplica. Writes the donor takes after its snapshot of keys reach the
 * joiner as INVs of the admitting view (or later), so the copy plus those is complete.
 */
export const COPY_BATCH_MAX_ENTRIES = 256;
export const COPY_BATCH_MAX_BYTES = 64 << 10;
/** Batches in flight per copy session. */
export const COPY_WINDOW_BATCHES = 4;

const entry = f.struct({
  key: f.string(), version: f.u53(), cid: f.u16(), value: f.byteString(),
  state: f.enumOf(...KEY_STATES), origin: f.u16(), seq: f.u53(),
});
export const CopyRequest = defineMessage(100, 'copy-request', { session: f.u32() });
export const CopyBatch = defineMessage(101, 'copy-batch', {
  session: f.u32(), batch: f.u32(), last: f.bool(), entries: f.list(entry, COPY_BATCH_MAX_ENTRIES),
});
export const CopyAck = defineMessage(102, 'copy-ack', { session: f.u32(), batch: f.u32() });
type CopyRequestMsg = MessageOf<typeof CopyRequest>;
type CopyBatchMsg = MessageOf<typeof CopyBatch>;
type CopyAckMsg = MessageOf<typeof CopyAck>;

interface DonorSession {
  joiner: ActorId;
  session: number;
  keys: string[];
  next: number;
  nextBatch: number;
  acked: number;
}

interface JoinerSession {
  donor: ActorId;
  session: number;
  expected: number;
  progressMs: number;
}

class CopyRecovery implements RecoveryStrategy {
  readonly name = 'copy';
  #joining: JoinerSession | undefined;
  readonly #donating = new Map<ActorId, DonorSession>();
  #nextSession = 1;
  readonly #stats = { copyEntriesSent: 0, copyEntriesApplied: 0, copyBytesSent: 0, copySessions: 0 };

  constructor(readonly self: ActorId) {}

  onAdmitted(ctx: RecoveryContext): void {
    this.#request(ctx);
  }

  onViewInstalled(ctx: RecoveryContext): void {
    for (const [joiner] of this.#donating) if (!isMember(ctx.view, joiner)) this.#donating.delete(joiner);
    if (this.#joining && ctx.recovering && !isMember(ctx.view, this.#joining.donor)) this.#request(ctx);
    if (!ctx.recovering) this.#joining = undefined;
  }

  /** Asks the lowest-id full member (not recovering in this view) for a copy. */
  #request(ctx: RecoveryContext): void {
    const donor = ctx.view.members.find((m) => m.id !== this.self && !ctx.view.shadows.includes(m.id));
    if (!donor) return;
    const session = (this.self << 20) + this.#nextSession++;
    this.#joining = { donor: donor.id, session, expected: 0, progressMs: ctx.now() };
    this.#stats.copySessions++;
    ctx.send(donor.id, { kind: 'copy-request', session });
  }

  receive(ctx: RecoveryContext, msg: StrategyMessage): void {
    switch (msg.kind) {
      case 'copy-request':
        this.#onRequest(ctx, msg as unknown as CopyRequestMsg);
        break;
      case 'copy-batch':
        this.#onBatch(ctx, msg as unknown as CopyBatchMsg);
        break;
      case 'copy-ack':
        this.#onAck(ctx, msg as unknown as CopyAckMsg);
        break;
    }
  }

  #onRequest(ctx: RecoveryContext, msg: CopyRequestMsg): void {
    // Only a full replica of the joiner's admitting view donates; the joiner retries otherwise.
    if (ctx.recovering || msg.epoch !== ctx.view.epoch || !isMember(ctx.view, msg.sender)) return;
    const session: DonorSession = {
      joiner: msg.sender, session: msg.session, keys: [...ctx.records().keys()], next: 0, nextBatch: 0, acked: 0,
    };
    this.#donating.set(msg.sender, session);
    this.#pump(ctx, session);
  }

  #pump(ctx: RecoveryContext, s: DonorSession): void {
    const records = ctx.records();
    while (s.nextBatch - s.acked < COPY_WINDOW_BATCHES && (s.next < s.keys.length || s.nextBatch === 0)) {
      const entries: CopyBatchMsg['entries'] = [];
      let bytes = 0;
      while (s.next < s.keys.length && entries.length < COPY_BATCH_MAX_ENTRIES && bytes < COPY_BATCH_MAX_BYTES) {
        const record = records.get(s.keys[s.next++] as string);
        if (!record) continue;
        entries.push({ key: record.key, version: record.ts.version, cid: record.ts.cid, value: record.value,
          state: record.state, origin: record.origin, seq: record.seq });
        bytes += record.key.length + record.value.length + 32;
      }
      this.#stats.copyEntriesSent += entries.length;
      this.#stats.copyBytesSent += bytes;
      const last = s.next >= s.keys.length;
      ctx.send(s.joiner, { kind: 'copy-batch', session: s.session, batch: s.nextBatch++, last, entries });
      if (last) break;
    }
  }

  #onAck(ctx: RecoveryContext, msg: CopyAckMsg): void {
    const s = this.#donating.get(msg.sender);
    if (!s || s.session !== msg.session || msg.batch < s.acked) return;
    s.acked = msg.batch + 1;
    if (s.next >= s.keys.length && s.acked === s.nextBatch) this.#donating.delete(msg.sender);
    else this.#pump(ctx, s);
  }

  #onBatch(ctx: RecoveryContext, msg: CopyBatchMsg): void {
    const j = this.#joining;
    if (!j || !ctx.recovering || msg.session !== j.session || msg.sender !== j.donor) return;
    if (msg.batch !== j.expected) return;
    for (const e of msg.entries) {
      const record: KeyRecord = { key: e.key, ts: { version: e.version, cid: e.cid }, value: e.value,
        state: e.state, origin: e.origin, seq: e.seq };
      if (ctx.installRecovered(record, msg.sender)) this.#stats.copyEntriesApplied++;
    }
    j.expected++;
    j.progressMs = ctx.now();
    if (msg.last) ctx.persistRecovered();
    ctx.send(msg.sender, { kind: 'copy-ack', session: msg.session, batch: msg.batch });
    if (msg.last) {
      this.#joining = undefined;
      ctx.finishRecovery();
    }
  }

  tick(ctx: RecoveryContext): void {
    // A copy that stopped making progress (lost message, donor gone) starts over.
    const j = this.#joining;
    if (j && ctx.recovering && ctx.now() - j.progressMs > 4 * ctx.timing.retransmitMs) this.#request(ctx);
  }

  stats(): Record<string, number> {
    return { ...this.#stats };
  }
}

export const copyRecovery: RecoveryStrategyFactory = {
  name: 'copy',
  messages: [CopyRequest, CopyBatch, CopyAck],
  create: (self) => new CopyRecovery(self),
};
