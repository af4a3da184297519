import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import {
  kRingHeaderBytes,
  LoadGenerators,
  sharedClockMs,
  ThreadRuntime,
  type ActorId,
  type HostStats,
} from '@heal/actors';
import type { DemoMessage, GossipConfig } from './gossip-actor.js';
import type { DemoClientParams, DemoClientResult } from './client-task.js';
import type { DemoConfig } from './config.js';
import { merge, newHistogram, quantile } from './histogram.js';

export interface ActorRow {
  actor: ActorId;
  /** Worker threads this actor has run in (2 for the crashed one). */
  incarnations: number;
  handled: number;
  sent: number;
  /** Messages it handled while the crashed actor was down (crash to restart). */
  handledDuringOutage: number;
  forwarded: number;
  replied: number;
  rerouted: number;
  beatsSent: number;
  suspicions: number;
  recoveries: number;
  codecErrors: number;
  backlogDrops: number;
}

export interface WindowRow {
  window: 'before' | 'during' | 'after';
  fromMs: number;
  toMs: number;
  /** Whole buckets inside the window. */
  buckets: number;
  meanRepliesPerBucket: number;
  minRepliesPerBucket: number;
  timeouts: number;
}

export interface DemoResult {
  threads: { actors: number; loadGenerators: number; main: number };
  rings: number;
  ringBytes: number;
  sharedRingMemoryBytes: number;
  /** Totals, warm-up included. */
  sent: number;
  replies: number;
  timeouts: number;
  lateReplies: number;
  /** Replies within the measured window, and their rate. */
  measuredReplies: number;
  requestsPerSec: number;
  p50Us: number;
  p99Us: number;
  crash: { actor: ActorId; crashAtMs: number; restartCalledAtMs: number; restartedAtMs: number; restartMs: number };
  windows: WindowRow[];
  repliesPer100Ms: number[];
  timeoutsPer100Ms: number[];
  actors: ActorRow[];
}

export interface DemoProgress {
  elapsedMs: number;
  replies: number;
  timeouts: number;
  down: ActorId[];
}

/**
 * Runs the demo: `actors` gossip actors in worker threads, `clients` closed-loop clients as
 * piscina tasks on their own ring endpoints, and one actor crashed and restarted mid-run.
 */
export async function runDemo(config: DemoConfig, onProgress?: (p: DemoProgress) => void): Promise<DemoResult> {
  const { actors, clients, durationMs, crashActor, bucketMs } = config;
  assert(crashActor >= 0 && crashActor < actors, `crashActor ${crashActor} is not an actor`);
  assert(bucketMs === 100, 'the summary reports 100 ms buckets');
  // Piscina threads first, so they are up by the time the clock starts.
  const generators = new LoadGenerators<DemoClientParams, DemoClientResult>(new URL('./client-task.js', import.meta.url), clients);
  let runtime: ThreadRuntime<DemoMessage, GossipConfig> | undefined;
  let ticker: NodeJS.Timeout | undefined;
  try {
    runtime = await ThreadRuntime.start<DemoMessage, GossipConfig>({
      module: { url: new URL('./gossip-actor.js', import.meta.url).href },
      actors,
      endpoints: clients,
      config: { actors, beatMs: config.beatMs, suspectAfterMs: config.suspectAfterMs },
      ringBytes: config.ringBytes,
    });
    const rt = runtime;
    const progress = new SharedArrayBuffer(clients * 2 * Int32Array.BYTES_PER_ELEMENT);
    const counters = new Int32Array(progress);
    const startAtMs = sharedClockMs() + config.warmupMs;
    const endAtMs = startAtMs + durationMs;
    const clientIds = Array.from({ length: clients }, (_, i) => actors + i);
    const load = generators.run(rt, clientIds, (id) => ({
      actors,
      hops: config.hops,
      window: config.window,
      timeoutMs: config.requestTimeoutMs,
      retryMs: config.retryMs,
      startAtMs,
      endAtMs,
      bucketMs,
      progress,
      progressSlot: id - actors,
    }));
    // If something below throws, `finally` destroys the pool and `load` rejects: not unhandled.
    load.catch(() => undefined);
    if (onProgress) {
      ticker = setInterval(() => {
        let replies = 0;
        let timeouts = 0;
        for (let i = 0; i < clients; i++) {
          replies += Atomics.load(counters, 2 * i);
          timeouts += Atomics.load(counters, 2 * i + 1);
        }
        const down = Array.from({ length: actors }, (_, id) => id).filter((id) => !rt.isUp(id));
        onProgress({ elapsedMs: Math.min(sharedClockMs() - startAtMs, durationMs), replies, timeouts, down });
      }, 100);
    }

    const elapsed = (): number => sharedClockMs() - startAtMs;
    const snapshot = async (): Promise<Map<ActorId, HostStats>> => {
      const ids = Array.from({ length: actors }, (_, id) => id).filter((id) => rt.isUp(id));
      const all = await Promise.all(ids.map((id) => rt.stats(id)));
      return new Map(all.map((s) => [s.self, s]));
    };

    // The failure, mid-run: snapshot everyone, crash one actor, wait, restart it.
    await delay(Math.max(0, config.crashAtFraction * durationMs - elapsed()));
    const atCrash = await snapshot();
    const crashAtMs = elapsed();
    await rt.crash(crashActor);
    await delay(Math.max(0, config.restartAtFraction * durationMs - elapsed()));
    const atRestart = await snapshot();
    const restartCalledAtMs = elapsed();
    await rt.restart(crashActor);
    const restartedAtMs = elapsed();

    const results = await load;
    const atEnd = await snapshot();
    if (ticker) clearInterval(ticker);
    ticker = undefined;

    const buckets = Math.ceil(durationMs / bucketMs);
    const repliesPer100Ms = new Array<number>(buckets).fill(0);
    const timeoutsPer100Ms = new Array<number>(buckets).fill(0);
    const latency = newHistogram();
    for (const r of results) {
      r.repliesPerBucket.forEach((n, b) => (repliesPer100Ms[b] = (repliesPer100Ms[b] ?? 0) + n));
      r.timeoutsPerBucket.forEach((n, b) => (timeoutsPer100Ms[b] = (timeoutsPer100Ms[b] ?? 0) + n));
      merge(latency, r.latencyUs);
    }
    const sum = (f: (r: DemoClientResult) => number): number => results.reduce((a, r) => a + f(r), 0);
    const inWindowReplies = repliesPer100Ms.reduce((a, n) => a + n, 0);

    const window = (name: WindowRow['window'], fromMs: number, toMs: number): WindowRow => {
      // `during`: every bucket the outage touches, so the dip at the crash is in it. `before` and
      // `after`: the buckets wholly outside the outage (if none, the one they touch).
      const touching = name === 'during';
      let first = touching ? Math.floor(fromMs / bucketMs) : Math.ceil(fromMs / bucketMs);
      let last = Math.min(touching ? Math.ceil(toMs / bucketMs) : Math.floor(toMs / bucketMs), buckets);
      if (last <= first) {
        first = Math.floor(fromMs / bucketMs);
        last = Math.min(Math.ceil(toMs / bucketMs), buckets);
      }
      const counts = repliesPer100Ms.slice(first, Math.max(first, last));
      const timeouts = timeoutsPer100Ms.slice(first, Math.max(first, last)).reduce((a, n) => a + n, 0);
      return {
        window: name,
        fromMs: Math.round(fromMs),
        toMs: Math.round(toMs),
        buckets: counts.length,
        meanRepliesPerBucket: counts.length ? Math.round(counts.reduce((a, n) => a + n, 0) / counts.length) : 0,
        minRepliesPerBucket: counts.length ? Math.min(...counts) : 0,
        timeouts,
      };
    };

    const actorRows: ActorRow[] = [];
    for (let id = 0; id < actors; id++) {
      const end = atEnd.get(id);
      assert(end, `actor ${id} is not up at the end`);
      const before = id === crashActor ? atCrash.get(id) : undefined;
      const add = (f: (s: HostStats) => number): number => f(end) + (before ? f(before) : 0);
      const counter = (name: string) => (s: HostStats): number => s.actor[name] ?? 0;
      const during = id === crashActor ? 0 : (atRestart.get(id)?.handled ?? 0) - (atCrash.get(id)?.handled ?? 0);
      actorRows.push({
        actor: id,
        incarnations: id === crashActor ? 2 : 1,
        handled: add((s) => s.handled),
        sent: add((s) => s.sent),
        handledDuringOutage: during,
        forwarded: add(counter('forwarded')),
        replied: add(counter('replied')),
        rerouted: add(counter('rerouted')),
        beatsSent: add(counter('beatsSent')),
        suspicions: add(counter('suspicions')),
        recoveries: add(counter('recoveries')),
        codecErrors: add((s) => s.codecErrors),
        backlogDrops: add((s) => s.backlogDrops),
      });
    }

    const rings = actors * (actors - 1) + 2 * actors * clients;
    return {
      threads: { actors, loadGenerators: clients, main: 1 },
      rings,
      ringBytes: config.ringBytes,
      sharedRingMemoryBytes: rings * (config.ringBytes + kRingHeaderBytes),
      sent: sum((r) => r.sent),
      replies: sum((r) => r.replies),
      timeouts: sum((r) => r.timeouts),
      lateReplies: sum((r) => r.lateReplies),
      measuredReplies: inWindowReplies,
      requestsPerSec: Math.round(inWindowReplies / (durationMs / 1000)),
      p50Us: Math.round(quantile(latency, 0.5)),
      p99Us: Math.round(quantile(latency, 0.99)),
      crash: {
        actor: crashActor,
        crashAtMs: Math.round(crashAtMs),
        restartCalledAtMs: Math.round(restartCalledAtMs),
        restartedAtMs: Math.round(restartedAtMs),
        restartMs: Math.round(restartedAtMs - restartCalledAtMs),
      },
      windows: [
        window('before', 0, crashAtMs),
        window('during', crashAtMs, restartedAtMs),
        window('after', Math.min(restartedAtMs, durationMs), durationMs),
      ],
      repliesPer100Ms,
      timeoutsPer100Ms,
      actors: actorRows,
    };
  } finally {
    if (ticker) clearInterval(ticker);
    await generators.destroy();
    await runtime?.shutdown();
  }
}
