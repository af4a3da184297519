import type { ActorId } from '@heal/actors/core';
import type { RecoveryContext, Ts } from '@heal/kv/replica';
import type { MerkleDescent } from './digest/merkle-descent.js';
import type { HealAssistMsg } from './heal-messages.js';
import type { SelectionStream } from './heal-stream.js';

/** One joiner served by this replica: as its Buddy, or as a helper streaming part of a descent's keys. */
export interface ServingSession {
  readonly joiner: ActorId;
  readonly session: number;
  readonly epoch: number;
  readonly helper: boolean;
  /** Streams in all (this one included). */
  sources: number;
  mode: 'buffer' | 'descent';
  /** descent: comparing trees; keys: gathering the joiner's keys of the differing buckets; stream. */
  phase: 'descent' | 'keys' | 'stream';
  descent: MerkleDescent | undefined;
  buckets: number[] | undefined;
  /** The keys request being answered: parts of older ones are dropped. */
  keysAttempt: number;
  /** The joiner's `(key, ts)` of the differing buckets, gathered part by part. */
  remote: Map<string, Ts>;
  parts: Set<number>;
  lastPart: number | undefined;
  /** A helper's keys arrive in chunks. */
  chunks: Map<number, string[]> | undefined;
  /** What the Buddy asked each helper to stream, sent again while the joiner has not confirmed. */
  assists: { to: ActorId; msg: Omit<HealAssistMsg, 'epoch' | 'sender'> }[];
  /** The selected keys' stream, once they are known. */
  stream: SelectionStream | undefined;
  vvSkipped: number;
  progressMs: number;
}

/** A new session serving `joiner`: a Buddy's in `mode`, or a helper's (which only streams). */
export function servingSession(
  ctx: RecoveryContext,
  joiner: ActorId,
  session: number,
  epoch: number,
  helper: boolean,
  mode: 'buffer' | 'descent',
): ServingSession {
  return {
    joiner,
    session,
    epoch,
    helper,
    sources: 1,
    mode,
    phase: mode === 'buffer' || helper ? 'stream' : 'descent',
    descent: undefined,
    buckets: undefined,
    keysAttempt: 0,
    remote: new Map(),
    parts: new Set(),
    lastPart: undefined,
    chunks: helper ? new Map() : undefined,
    assists: [],
    stream: undefined,
    vvSkipped: 0,
    progressMs: ctx.now(),
  };
}

/** Sends (again) what the Buddy asked each helper of `s` to stream. */
export function sendAssists(ctx: RecoveryContext, s: ServingSession): void {
  for (const { to, msg } of s.assists) ctx.send(to, msg);
}
