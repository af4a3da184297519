import assert from 'node:assert/strict';
import { attachEndpoint, type ActorId, type Cancellable, type LoadTask } from '@heal/actors';
import { gossipModule, type DemoMessage } from './gossip-actor.js';
import { newHistogram, record } from './histogram.js';

export interface DemoClientParams {
  actors: number;
  hops: number;
  /** Requests in flight at once (closed loop). */
  window: number;
  /** A request not answered within this is counted as a timeout and its slot reused. */
  timeoutMs: number;
  /** After a timeout, the entry actor gets only one probe request per this period until it answers. */
  retryMs: number;
  /**
   * Shared clock (`endpoint.now()`) times. The client sends from the start of the task (warm-up)
   * until `endAtMs`; buckets and latencies count only from `startAtMs`.
   */
  startAtMs: number;
  endAtMs: number;
  bucketMs: number;
  /** Int32 counters, two per client (replies, timeouts), read by the main thread for progress. */
  progress: SharedArrayBuffer;
  progressSlot: number;
}

export interface DemoClientResult {
  client: ActorId;
  sent: number;
  replies: number;
  timeouts: number;
  /** Replies that came after their request had timed out. */
  lateReplies: number;
  /** Replies (and timeouts) per `bucketMs` bucket from `startAtMs`, up to `endAtMs`. */
  repliesPerBucket: number[];
  timeoutsPerBucket: number[];
  /** Round trips in µs of requests sent from `startAtMs`, as `histogram.ts` counts. */
  latencyUs: number[];
}

interface Pending {
  readonly target: ActorId;
  readonly sentAtMs: number;
  readonly timer: Cancellable;
}

/**
 * A piscina task: a closed-loop client on its own ring endpoint. It keeps `window` requests in
 * flight, each with a timeout from the endpoint's `schedule`, and sends each to the next actor
 * in turn, skipping one that recently timed out (except for one probe per `retryMs`). It stops
 * sending at `endAtMs` and returns once every request has been answered or has timed out.
 */
export default async function demoClient(task: LoadTask<DemoClientParams>): Promise<DemoClientResult> {
  const p = task.params;
  assert(p.window >= 1 && p.actors >= 1 && p.timeoutMs > 0 && p.bucketMs > 0, 'bad demo client params');
  const endpoint = attachEndpoint<DemoMessage>(task.links, gossipModule.codec);
  const self = endpoint.self;
  const progress = new Int32Array(p.progress, p.progressSlot * 2 * Int32Array.BYTES_PER_ELEMENT, 2);
  const buckets = Math.ceil((p.endAtMs - p.startAtMs) / p.bucketMs);
  const result: DemoClientResult = {
    client: self,
    sent: 0,
    replies: 0,
    timeouts: 0,
    lateReplies: 0,
    repliesPerBucket: new Array<number>(buckets).fill(0),
    timeoutsPerBucket: new Array<number>(buckets).fill(0),
    latencyUs: newHistogram(),
  };
  const pending = new Map<number, Pending>();
  const down = new Array<boolean>(p.actors).fill(false);
  const retryAtMs = new Array<number>(p.actors).fill(0);
  const probing = new Array<boolean>(p.actors).fill(false);
  let nextId = 0;
  let nextTarget = self % p.actors;

  const countIn = (counts: number[], now: number): void => {
    const b = Math.floor((now - p.startAtMs) / p.bucketMs);
    if (b >= 0 && b < counts.length) counts[b] = (counts[b] ?? 0) + 1;
  };

  const pickTarget = (now: number): ActorId => {
    for (let k = 0; k < p.actors; k++) {
      const target = (nextTarget + k) % p.actors;
      const usable = !down[target] || (now >= (retryAtMs[target] ?? 0) && !probing[target]);
      if (usable) {
        if (down[target]) probing[target] = true;
        nextTarget = (target + 1) % p.actors;
        return target;
      }
    }
    // Every actor looks down: try the next one anyway.
    const target = nextTarget;
    nextTarget = (target + 1) % p.actors;
    return target;
  };

  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const maybeDone = (now: number): void => {
    if (now >= p.endAtMs && pending.size === 0) finish();
  };

  const sendOne = (now: number): void => {
    if (now >= p.endAtMs) return;
    const id = nextId++;
    const target = pickTarget(now);
    const timer = endpoint.schedule(p.timeoutMs, () => onTimeout(id));
    pending.set(id, { target, sentAtMs: now, timer });
    result.sent++;
    endpoint.send(target, { kind: 'request', epoch: 0, sender: self, id, hops: p.hops, origin: self, visits: 0 });
  };

  const onTimeout = (id: number): void => {
    const request = pending.get(id);
    assert(request, `timeout of request ${id}, which is not pending`);
    pending.delete(id);
    const now = endpoint.now();
    result.timeouts++;
    Atomics.store(progress, 1, result.timeouts);
    countIn(result.timeoutsPerBucket, now);
    down[request.target] = true;
    probing[request.target] = false;
    retryAtMs[request.target] = now + p.retryMs;
    sendOne(now);
    maybeDone(now);
  };

  endpoint.onMessage((msg) => {
    assert.equal(msg.kind, 'reply', `client ${self} got a ${msg.kind}`);
    if (msg.kind !== 'reply') return;
    const request = pending.get(msg.id);
    if (!request) {
      result.lateReplies++;
      return;
    }
    pending.delete(msg.id);
    request.timer.cancel();
    const now = endpoint.now();
    down[request.target] = false;
    probing[request.target] = false;
    result.replies++;
    Atomics.store(progress, 0, result.replies);
    countIn(result.repliesPerBucket, now);
    if (request.sentAtMs >= p.startAtMs) record(result.latencyUs, (now - request.sentAtMs) * 1000);
    sendOne(now);
    maybeDone(now);
  });

  const now = endpoint.now();
  for (let i = 0; i < p.window; i++) sendOne(now);
  maybeDone(now);
  await done;
  await endpoint.close();
  return result;
}
