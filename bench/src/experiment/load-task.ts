import assert from 'node:assert/strict';
import { attachEndpoint, type ActorId, type LoadTask } from '@heal/actors';
import { Prng } from '@heal/base';
import { healReplicaModule } from '@heal/heal';
import { datasetKey, KvClient, type KvError, type KvWire } from '@heal/kv';
import { newLatencyHistogram, recordLatencyUs, type LatencyHistogram } from '../demo/histogram.js';
import { createWorkload, type WorkloadName } from '../workloads/index.js';

/** Slots of `ExperimentLoadParams.control` (an Int32Array over shared memory). */
export const CONTROL_STARTED = 0;
export const CONTROL_STOP = 1;
export const CONTROL_SLOTS = 2;
/** Slots of `ExperimentLoadParams.marks` (a Float64Array over shared memory; 0 = not yet). */
export const MARK_STEADY_FROM = 0;
export const MARK_CRASH_AT = 1;
export const MARK_SLOTS = 2;

/** A replica that timed out an operation, or was not serving, gets no requests for this long, then one probe at a time. */
export const AVOID_MS = 200;

export interface ExperimentLoadParams {
  replicas: number;
  workload: WorkloadName;
  keys: number;
  valueBytes?: number;
  /** Operations in flight at once (closed loop with a window), or at most (open loop). */
  window: number;
  /** Open loop: operations per second this client issues on a schedule (absent: closed loop). */
  targetOpsPerSec?: number;
  seed: number;
  timeoutMs: number;
  /** Shared clock time of bucket 0's start. */
  originMs: number;
  bucketMs: number;
  /** Bound on the buckets counted; completions after them are only added to `beyondBuckets`. */
  maxBuckets: number;
  /** Int32 slots: CONTROL_STARTED (each task adds 1 once it issues), CONTROL_STOP (set by the driver). */
  control: SharedArrayBuffer;
  /** Float64 slots the driver publishes: MARK_STEADY_FROM, MARK_CRASH_AT (shared clock ms). */
  marks: SharedArrayBuffer;
}

/** The puts that ended (answered or failed) at or after the crash, per key. */
export interface CrashWrites {
  keys: number[];
  /** Issue time of the earliest such put of each key (shared clock ms). */
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

  constructor(readonly replicas: number, first: number) {
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
  settled(r: ActorId, outcome: { ok: boolean; servedBy: ActorId | undefined; timedOut: boolean }, nowMs: number): void {
    if (outcome.timedOut || (outcome.servedBy !== undefined && outcome.servedBy !== r)) this.avoid(r, nowMs);
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

/**
 * A piscina task of the recovery experiment: one KvClient on its own ring endpoint runs the
 * workload closed-loop with `window` operations in flight (an rmw is a get, then a put of the
 * same key at the same replica) until the driver sets CONTROL_STOP, counting completions per
 * bucket on the shared clock.
 */
export default async function experimentLoad(task: LoadTask<ExperimentLoadParams>): Promise<ExperimentLoadResult> {
  const p = task.params;
  assert(p.window >= 1 && p.replicas >= 1 && p.bucketMs > 0 && p.maxBuckets >= 1, 'bad experiment load params');
  const control = new Int32Array(p.control);
  const marks = new Float64Array(p.marks);
  const workload = createWorkload(p.workload, { keys: p.keys, ...(p.valueBytes !== undefined ? { valueBytes: p.valueBytes } : {}) });
  const endpoint = attachEndpoint<KvWire>(task.links, healReplicaModule.codec);
  const client = new KvClient(endpoint, { replicas: p.replicas, timeoutMs: p.timeoutMs });
  const chooser = new ReplicaChooser(p.replicas, endpoint.self % p.replicas);
  const prng = new Prng(p.seed);
  const random = (): number => prng.float();
  const values = new Map<number, string>();
  const valueOf = (bytes: number): string => {
    let v = values.get(bytes);
    if (v === undefined) {
      v = 'v'.repeat(bytes);
      values.set(bytes, v);
    }
    return v;
  };
  const r: ExperimentLoadResult = {
    completedPerBucket: [], failedPerBucket: [], beyondBuckets: 0, gets: 0, puts: 0, rmws: 0, failed: 0, timeouts: 0, shed: 0,
    steadyLatencyUs: newLatencyHistogram(), afterCrashLatencyUs: newLatencyHistogram(), crashWrites: { keys: [], firstIssueMs: [], valueBytes: [] },
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

  /** A put ending at or after the crash may be one the failed replica lacks: note its key. */
  const put = (index: number, valueBytes: number, replica: ActorId, done: (err: KvError | RangeError | undefined, value: null, servedBy?: ActorId) => void): void => {
    const issuedMs = endpoint.now();
    client.submit({ kind: 'put', key: datasetKey(index), value: valueOf(valueBytes), replica }, (err, _value, servedBy) => {
      const crashAt = marks[MARK_CRASH_AT] as number;
      if (crashAt > 0 && endpoint.now() >= crashAt) {
        const seen = crashWrites.get(index);
        if (seen === undefined) crashWrites.set(index, { firstIssueMs: issuedMs, valueBytes });
        else seen.valueBytes = valueBytes;
      }
      done(err, null, servedBy);
    });
  };

  /** Issues one workload operation; `scheduledMs`: when it was due (open loop measures latency from then). */
  const issueOne = (scheduledMs: number, done: () => void): void => {
    const op = workload.next(random);
    const startMs = scheduledMs;
    const replica = chooser.pick(endpoint.now());
    const finish = (err: KvError | RangeError | undefined, _value?: string | null, servedBy?: ActorId): void => {
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
        const crashAt = marks[MARK_CRASH_AT] as number;
        const steadyFrom = marks[MARK_STEADY_FROM] as number;
        if (crashAt > 0 && startMs >= crashAt) recordLatencyUs(r.afterCrashLatencyUs, (nowMs - startMs) * 1000);
        else if (steadyFrom > 0 && startMs >= steadyFrom) recordLatencyUs(r.steadyLatencyUs, (nowMs - startMs) * 1000);
      }
      done();
    };
    if (op.kind === 'get') client.submit({ kind: 'get', key: datasetKey(op.key), replica }, finish);
    else if (op.kind === 'put') put(op.key, op.valueBytes, replica, finish);
    else {
      client.submit({ kind: 'get', key: datasetKey(op.key), replica }, (err, _value, servedBy) => {
        if (err) finish(err);
        else put(op.key, op.valueBytes, servedBy ?? replica, finish);
      });
    }
  };
  const stopped = (): boolean => Atomics.load(control, CONTROL_STOP) !== 0;

  await new Promise<void>((resolve) => {
    Atomics.add(control, CONTROL_STARTED, 1);
    const rate = p.targetOpsPerSec;
    if (rate === undefined) {
      // Closed loop: each of `window` slots issues its next operation when the last one ends.
      let running = 0;
      const next = (): void => {
        if (stopped()) {
          if (--running === 0) resolve();
          return;
        }
        issueOne(endpoint.now(), next);
      };
      for (let i = 0; i < p.window; i++) {
        running++;
        next();
      }
      return;
    }
    // Open loop: operation n is due at start + n / rate, whatever happened to the others.
    const startMs = endpoint.now();
    let issued = 0;
    let outstanding = 0;
    const timer = setInterval(() => {
      if (stopped()) {
        clearInterval(timer);
        if (outstanding === 0) resolve();
        return;
      }
      const due = Math.floor(((endpoint.now() - startMs) * rate) / 1000);
      for (; issued < due; issued++) {
        if (outstanding >= p.window) {
          r.shed++;
          continue;
        }
        outstanding++;
        issueOne(startMs + (issued * 1000) / rate, () => {
          outstanding--;
          if (outstanding === 0 && stopped()) resolve();
        });
      }
    }, 1);
  });
  client.close();
  await endpoint.close();
  for (const [key, w] of crashWrites) {
    r.crashWrites.keys.push(key);
    r.crashWrites.firstIssueMs.push(w.firstIssueMs);
    r.crashWrites.valueBytes.push(w.valueBytes);
  }
  return r;
}
