import assert from 'node:assert/strict';
import type { ActorId, Endpoint } from '@heal/actors/core';
import { Prng } from '@heal/base';
import { datasetKey, type KvClient, type KvError, type KvWire } from '@heal/kv';
import type { HistoryRecorder } from '@heal/kv';
import { newLatencyHistogram, recordLatencyUs, type LatencyHistogram } from '../demo/histogram.js';
import { createWorkload, type WorkloadName } from '../workloads/index.js';

/** A replica that timed out an operation, or was not serving, gets no requests for this long, then one probe at a time. */
export const AVOID_MS = 200;

/** What one client of the recovery experiment runs (either runtime). */
export interface ClientLoadParams {
  replicas: number;
  workload: WorkloadName;
  keys: number;
  valueBytes?: number;
  /** Operations in flight at once (closed loop with a window), or at most (open loop). */
  window: number;
  /** Open loop: operations per second this client issues on a schedule (absent: closed loop). */
  targetOpsPerSec?: number;
  seed: number;
  /** Clock time of bucket 0's start. */
  originMs: number;
  bucketMs: number;
  /** Bound on the buckets counted; completions after them are only added to `beyondBuckets`. */
  maxBuckets: number;
}

/** How the driver steers a client: when to stop, and the marks it publishes (0 = not yet). */
export interface ClientLoadControl {
  stopped(): boolean;
  steadyFromMs(): number;
  crashAtMs(): number;
  /** Open loop: calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

/**
 * The simulator's additions: every put writes a value of its own (the checker needs them
 * unique; the size is the workload's), and every operation goes into `history`, each of the
 * window's slots as a sequential client of its own.
 */
export interface ClientLoadChecking {
  history: HistoryRecorder;
  /** First history client id of this client's slots. */
  historyClient: number;
}

/** The puts that ended (answered or failed) at or after the crash, per key. */
export interface CrashWrites {
  keys: number[];
  /** Issue time of the earliest such put of each key. */
  firstIssueMs: number[];
  /** Value size of the latest such put of each key. */
  valueBytes: number[];
}

export interface ExperimentLoadResult {
  /** Operations completed in bucket b = [originMs + b * bucketMs, +bucketMs), by completion time; an rmw counts once. */
  completedPerBucket: number[];
  /** Operations that failed (timeout, busy), by the bucket in which they failed. */
  failedPerBucket: number[];
  beyondBuckets: number;
  gets: number;
  puts: number;
  rmws: number;
  failed: number;
  timeouts: number;
  /** Open loop: scheduled operations not issued because `window` were outstanding. */
  shed: number;
  /** Latency histograms in µs (see demo/histogram.ts) of operations issued in the steady window, and from the crash on. */
  steadyLatencyUs: LatencyHistogram;
  afterCrashLatencyUs: LatencyHistogram;
  crashWrites: CrashWrites;
}

/**
 * Round robin over the replicas, skipping one that timed out an operation or was not serving
 * (another replica answered for it): it is avoided for AVOID_MS, then gets one probe at a time
 * until it answers itself. Without this a dead or recovering replica would hold a share of every
 * client's window until each operation's timeout, or until its busy thread said not-serving.
 */
export class ReplicaChooser {
  #next: number;
  readonly #avoidUntilMs: Float64Array;
  readonly #probing: Uint8Array;

  constructor(
    readonly replicas: number,
    first: number,
  ) {
    this.#next = first;
    this.#avoidUntilMs = new Float64Array(replicas);
    this.#probing = new Uint8Array(replicas);
  }

  pick(nowMs: number): ActorId {
    for (let i = 0; i < this.replicas; i++) {
      const r = this.#next;
      this.#next = (this.#next + 1) % this.replicas;
      const avoidUntil = this.#avoidUntilMs[r] as number;
      if (avoidUntil === 0) return r;
      if (avoidUntil <= nowMs && this.#probing[r] === 0) {
        this.#probing[r] = 1;
        return r;
      }
    }
    // Every replica is avoided: ask the next one anyway.
    const r = this.#next;
    this.#next = (this.#next + 1) % this.replicas;
    return r;
  }

  /**
   * An operation asked of `r` ended: answered by `servedBy` (the replica that answered, another
   * than `r` when `r` was not serving), or failed (`timedOut` when it got no answer at all).
   * Only an answer from `r` itself ends `r`'s avoidance.
   */
  settled(
    r: ActorId,
    outcome: { ok: boolean; servedBy: ActorId | undefined; timedOut: boolean },
    nowMs: number,
  ): void {
    if (outcome.timedOut || (outcome.servedBy !== undefined && outcome.servedBy !== r))
      this.avoid(r, nowMs);
    else if (outcome.ok) this.answered(r);
  }

  answered(r: ActorId): void {
    this.#avoidUntilMs[r] = 0;
    this.#probing[r] = 0;
  }

  avoid(r: ActorId, nowMs: number): void {
    this.#avoidUntilMs[r] = nowMs + AVOID_MS;
    this.#probing[r] = 0;
  }
}

type Done = (
  err: KvError | RangeError | undefined,
  value?: string | null,
  servedBy?: ActorId,
) => void;

/**
 * One client of the recovery experiment (a piscina task on threads, an endpoint in the
 * simulator): `client` runs the workload with `window` operations in flight (closed loop) or on
 * a schedule (open loop; an rmw is a get, then a put of the same key at the same replica) until
 * `control.stopped()`, counting completions per bucket on the endpoint's clock. `finished` gets
 * the result once every operation in flight has ended.
 */
export function startClientLoad(
  endpoint: Endpoint<KvWire>,
  client: KvClient,
  p: ClientLoadParams,
  control: ClientLoadControl,
  finished: (result: ExperimentLoadResult) => void,
  checking?: ClientLoadChecking,
): void {
  assert(
    p.window >= 1 && p.replicas >= 1 && p.bucketMs > 0 && p.maxBuckets >= 1,
    'bad experiment load params',
  );
  const workload = createWorkload(p.workload, {
    keys: p.keys,
    ...(p.valueBytes !== undefined ? { valueBytes: p.valueBytes } : {}),
  });
  const chooser = new ReplicaChooser(p.replicas, endpoint.self % p.replicas);
  const prng = new Prng(p.seed);
  const random = (): number => prng.float();
  const values = new Map<number, string>();
  let written = 0;
  const valueOf = (bytes: number): string => {
    // Unique values for the checker: a counter, padded to the workload's size.
    if (checking) return `${endpoint.self}-${++written}`.padEnd(bytes, '.');
    let v = values.get(bytes);
    if (v === undefined) {
      v = 'v'.repeat(bytes);
      values.set(bytes, v);
    }
    return v;
  };
  const r: ExperimentLoadResult = {
    completedPerBucket: [],
    failedPerBucket: [],
    beyondBuckets: 0,
    gets: 0,
    puts: 0,
    rmws: 0,
    failed: 0,
    timeouts: 0,
    shed: 0,
    steadyLatencyUs: newLatencyHistogram(),
    afterCrashLatencyUs: newLatencyHistogram(),
    crashWrites: { keys: [], firstIssueMs: [], valueBytes: [] },
  };
  // At most one entry per dataset key: indices come from the workload, in [0, keys).
  const crashWrites = new Map<number, { firstIssueMs: number; valueBytes: number }>();

  const countIn = (buckets: number[], nowMs: number): void => {
    const b = Math.floor((nowMs - p.originMs) / p.bucketMs);
    if (b < 0) return;
    if (b >= p.maxBuckets) {
      r.beyondBuckets++;
      return;
    }
    while (buckets.length <= b) buckets.push(0);
    buckets[b] = (buckets[b] as number) + 1;
  };

  /** Submits one operation, into the history when checking (slot `slot` is a sequential client there). */
  const submit = (
    slot: number,
    op:
      | { kind: 'get'; key: string; replica: ActorId }
      | { kind: 'put'; key: string; value: string; replica: ActorId },
    done: Done,
  ): void => {
    if (!checking) return client.submit(op, done);
    const who = checking.historyClient + slot * 1000 + slotErrors[slot]!;
    const id =
      op.kind === 'get'
        ? checking.history.invokeGet(who, op.key)
        : checking.history.invokePut(who, op.key, op.value);
    client.submit(op, (err, value, servedBy) => {
      // A failed operation stays pending (it may have applied): the slot takes a fresh history client.
      if (err) slotErrors[slot]!++;
      else if (op.kind === 'get') checking.history.returnGet(id, value);
      else checking.history.returnPut(id);
      done(err, value, servedBy);
    });
  };
  const slotErrors: number[] = [];

  /** A put ending at or after the crash may be one the failed replica lacks: note its key. */
  const put = (
    slot: number,
    index: number,
    valueBytes: number,
    replica: ActorId,
    done: Done,
  ): void => {
    const issuedMs = endpoint.now();
    submit(
      slot,
      { kind: 'put', key: datasetKey(index), value: valueOf(valueBytes), replica },
      (err, _value, servedBy) => {
        const crashAt = control.crashAtMs();
        if (crashAt > 0 && endpoint.now() >= crashAt) {
          const seen = crashWrites.get(index);
          if (seen === undefined) crashWrites.set(index, { firstIssueMs: issuedMs, valueBytes });
          else seen.valueBytes = valueBytes;
        }
        done(err, null, servedBy);
      },
    );
  };

  /** Issues one workload operation; `scheduledMs`: when it was due (open loop measures latency from then). */
  const issueOne = (slot: number, scheduledMs: number, done: () => void): void => {
    const op = workload.next(random);
    const startMs = scheduledMs;
    const replica = chooser.pick(endpoint.now());
    const finish: Done = (err, _value, servedBy) => {
      const nowMs = endpoint.now();
      // No answer: it timed out, or its replica left the view first (its outcome is unknown).
      const code = err === undefined ? undefined : (err as KvError).code;
      const timedOut = code === 'timeout' || code === 'left-view';
      // Not serving (recovering, or not yet admitted: another replica answered) or timed out:
      // route around it, or every slot ends up queued behind it (closed loop).
      chooser.settled(replica, { ok: err === undefined, servedBy, timedOut }, nowMs);
      if (err) {
        r.failed++;
        countIn(r.failedPerBucket, nowMs);
        if (timedOut) r.timeouts++;
      } else {
        countIn(r.completedPerBucket, nowMs);
        if (op.kind === 'get') r.gets++;
        else if (op.kind === 'put') r.puts++;
        else r.rmws++;
        const crashAt = control.crashAtMs();
        const steadyFrom = control.steadyFromMs();
        if (crashAt > 0 && startMs >= crashAt)
          recordLatencyUs(r.afterCrashLatencyUs, (nowMs - startMs) * 1000);
        else if (steadyFrom > 0 && startMs >= steadyFrom)
          recordLatencyUs(r.steadyLatencyUs, (nowMs - startMs) * 1000);
      }
      done();
    };
    if (op.kind === 'get') submit(slot, { kind: 'get', key: datasetKey(op.key), replica }, finish);
    else if (op.kind === 'put') put(slot, op.key, op.valueBytes, replica, finish);
    else {
      submit(slot, { kind: 'get', key: datasetKey(op.key), replica }, (err, _value, servedBy) => {
        if (err) finish(err);
        else put(slot, op.key, op.valueBytes, servedBy ?? replica, finish);
      });
    }
  };

  const end = (): void => {
    for (const [key, w] of crashWrites) {
      r.crashWrites.keys.push(key);
      r.crashWrites.firstIssueMs.push(w.firstIssueMs);
      r.crashWrites.valueBytes.push(w.valueBytes);
    }
    finished(r);
  };
  const rate = p.targetOpsPerSec;
  if (rate === undefined) {
    // Closed loop: each of `window` slots issues its next operation when the last one ends.
    let running = 0;
    const next = (slot: number): void => {
      if (control.stopped()) {
        if (--running === 0) end();
        return;
      }
      issueOne(slot, endpoint.now(), () => next(slot));
    };
    for (let slot = 0; slot < p.window; slot++) {
      slotErrors.push(0);
      running++;
      next(slot);
    }
    return;
  }
  // Open loop: operation n is due at start + n / rate, whatever happened to the others.
  for (let slot = 0; slot < p.window; slot++) slotErrors.push(0);
  const free = Array.from({ length: p.window }, (_, slot) => p.window - 1 - slot);
  const startMs = endpoint.now();
  let issued = 0;
  const cancel = control.every(1, () => {
    if (control.stopped()) {
      cancel();
      if (free.length === p.window) end();
      return;
    }
    const due = Math.floor(((endpoint.now() - startMs) * rate) / 1000);
    for (; issued < due; issued++) {
      const slot = free.pop();
      if (slot === undefined) {
        r.shed++;
        continue;
      }
      issueOne(slot, startMs + (issued * 1000) / rate, () => {
        free.push(slot);
        if (free.length === p.window && control.stopped()) end();
      });
    }
  });
}
