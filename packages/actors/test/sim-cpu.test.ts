import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Codec,
  defineMessage,
  fields as f,
  FREE_COSTS,
  Simulation,
  type Actor,
  type ActorContext,
  type ActorId,
  type ActorModule,
  type CostModel,
  type CpuMeter,
  type CpuOptions,
  type MessageOf,
} from '../src/index.js';
import { relayModule, type RelayMessage } from './fixtures/relay-actor.js';

/** A tiny protocol: `work` asks actor `to` to do `costMs` of storage work and answer `done`. */
const Work = defineMessage(1, 'work', { id: f.u32(), costMs: f.f64(), pad: f.string() });
const Done = defineMessage(2, 'done', { id: f.u32(), atMs: f.f64(), cpuMs: f.f64() });
type WorkMsg = MessageOf<typeof Work> | MessageOf<typeof Done>;

/** Storage whose operations charge the CPU model through a hook the test installs. */
interface ChargingStorage {
  charge: (ms: number) => void;
}

class Worker implements Actor<WorkMsg, ChargingStorage> {
  start(): void {}
  receive(msg: WorkMsg, ctx: ActorContext<WorkMsg, ChargingStorage>): void {
    if (msg.kind !== 'work') return;
    ctx.storage.charge(msg.costMs);
    ctx.send(msg.sender, {
      kind: 'done',
      epoch: 0,
      sender: ctx.self,
      id: msg.id,
      atMs: ctx.now(),
      cpuMs: ctx.cpuMs(),
    });
  }
  tick(): void {}
}

const workModule: ActorModule<WorkMsg, ChargingStorage, null> = {
  codec: new Codec<WorkMsg>([Work, Done]),
  createActor: () => new Worker(),
  createStorage: () => ({ charge: () => {} }),
};

const FIXED_LINK = { minMs: 0.05, maxMs: 0.05 };

function workSim(
  actors: number,
  cpu: Omit<CpuOptions, 'costs'> & { costs?: CostModel },
  nic = {},
): Simulation<WorkMsg, ChargingStorage, null> {
  const sim = new Simulation({
    seed: 1,
    module: workModule,
    actors,
    endpoints: 2,
    config: null,
    network: FIXED_LINK,
    nic,
    cpu: { costs: FREE_COSTS, ...cpu },
  });
  for (let id = 0; id < actors; id++) sim.storage(id).charge = (ms) => sim.charge(id, ms);
  return sim;
}

/** Answers at the first endpoint, by id: [virtual time received, the handler's clock at its end]. */
function answers(
  sim: Simulation<WorkMsg, ChargingStorage, null>,
  endpoint: ActorId,
): Map<number, [number, number]> {
  const got = new Map<number, [number, number]>();
  sim.endpoint(endpoint).onMessage((msg) => {
    if (msg.kind === 'done') got.set(msg.id, [sim.now, msg.atMs]);
  });
  return got;
}

const work = (from: ActorId, id: number, costMs: number, pad = ''): WorkMsg => ({
  kind: 'work',
  epoch: 0,
  sender: from,
  id,
  costMs,
  pad,
});

const near = (actual: number | undefined, expected: number, what: string): void => {
  assert.ok(
    actual !== undefined && Math.abs(actual - expected) < 1e-9,
    `${what}: ${actual} != ${expected}`,
  );
};

test('a busy actor delays its next message by the CPU time its handler was charged', () => {
  const sim = workSim(1, {});
  const client = 1;
  const got = answers(sim, client);
  sim.endpoint(client).send(0, work(client, 1, 2));
  sim.at(0.5, 'second request', () => sim.endpoint(client).send(0, work(client, 2, 1)));
  sim.runFor(20);
  // 1 arrives at 0.05 and runs 2 ms; 2 arrives at 0.55 and waits for it; each answer takes 0.05 more.
  near(got.get(1)?.[0], 0.05 + 2 + 0.05, 'first answer');
  near(got.get(2)?.[0], 0.05 + 2 + 1 + 0.05, 'second answer (queued behind the first)');
  // Inside a handler the clock includes what the job was charged so far.
  near(got.get(1)?.[1], 0.05 + 2, "the handler's clock after its work");
  assert.equal(sim.cpuStats(0).jobs, 3, 'start and two requests');
  near(sim.cpuStats(0).busyMs, 3, 'busy time');
});

test('actors on one host share its cores; a long job yields its core every slice', () => {
  const run = (cores: number): number[] => {
    const sim = workSim(2, { hosts: [{ cores, ids: [0, 1] }], sliceMs: 1 });
    const got = answers(sim, 2);
    sim.endpoint(2).send(0, work(2, 1, 10));
    sim.at(0.01, 'short request', () => sim.endpoint(2).send(1, work(2, 2, 0.5)));
    sim.runFor(50);
    return [got.get(1)?.[0] ?? NaN, got.get(2)?.[0] ?? NaN];
  };
  const [longOne, shortOne] = run(1);
  // One core: the short job waits for the long one's first slice (1 ms), not for all 10 ms.
  near(shortOne, 0.05 + 1 + 0.5 + 0.05, 'short job on a shared core');
  near(longOne, 0.05 + 10 + 0.5 + 0.05, 'long job, slowed by the short one');
  const [longTwo, shortTwo] = run(2);
  near(shortTwo, 0.06 + 0.5 + 0.05, 'short job with a core of its own');
  near(longTwo, 0.05 + 10 + 0.05, 'long job with a core of its own');
});

test('a thread keeps its core for its next job within its slice, ahead of a thread that waits', () => {
  const sim = workSim(2, { hosts: [{ cores: 1, ids: [0, 1] }], sliceMs: 1 });
  const got = answers(sim, 2);
  sim.endpoint(2).send(0, work(2, 1, 0.5));
  sim.at(0.1, 'other thread', () => sim.endpoint(2).send(1, work(2, 2, 0.2)));
  sim.at(0.2, 'more for the running thread', () => sim.endpoint(2).send(0, work(2, 3, 0.2)));
  sim.runFor(20);
  // 1 runs 0.05-0.55; 0's next job (queued at 0.25) goes on before 1's (queued at 0.15).
  near(got.get(1)?.[0], 0.55 + 0.05, 'first job');
  near(got.get(3)?.[0], 0.55 + 0.2 + 0.05, "the running thread's next job");
  near(got.get(2)?.[0], 0.75 + 0.2 + 0.05, 'the waiting thread');
});

test('a core goes to the waiting thread that has run least, not to the first that waited', () => {
  const sim = workSim(3, { hosts: [{ cores: 1, ids: [0, 1, 2] }], sliceMs: 1 });
  const got = answers(sim, 3);
  sim.endpoint(3).send(2, work(3, 1, 0.6));
  sim.at(0.7, 'a long job', () => sim.endpoint(3).send(0, work(3, 2, 3)));
  sim.at(0.8, 'the thread that ran', () => sim.endpoint(3).send(2, work(3, 3, 0.1)));
  sim.at(0.9, 'a thread that did not', () => sim.endpoint(3).send(1, work(3, 4, 0.1)));
  sim.runFor(20);
  // The long job (from 0.75) yields at 1.75: 1 has run 0 ms, 2 has run 0.6 ms, so 1 goes first
  // though 2 waited longer; then 2 (0.6 ms < the long job's 1 ms).
  near(got.get(4)?.[0], 1.75 + 0.1 + 0.05, 'the thread that had not run');
  near(got.get(3)?.[0], 1.85 + 0.1 + 0.05, 'the thread that had run');
  near(got.get(2)?.[0], 1.95 + 2 + 0.05, 'the long job');
});

test("an actor's CPU clock counts what it was charged, its running job's charges so far included", () => {
  const sim = workSim(1, {});
  const cpu = new Map<number, number>();
  sim.endpoint(1).onMessage((msg) => {
    if (msg.kind === 'done') cpu.set(msg.id, msg.cpuMs);
  });
  sim.endpoint(1).send(0, work(1, 1, 2));
  sim.at(5, 'second request', () => sim.endpoint(1).send(0, work(1, 2, 0.5)));
  sim.runFor(20);
  near(cpu.get(1), 2, 'at the end of the first handler');
  near(cpu.get(2), 2.5, 'at the end of the second');
});

test('a restarted actor is charged its restart cost after its start, a first start is not', () => {
  const sim = workSim(1, { costs: { ...FREE_COSTS, restartMs: () => 2 } });
  sim.runFor(1);
  near(sim.cpuStats(0).busyMs, 0, 'first start');
  sim.crash(0);
  sim.restart(0);
  const cpu = new Map<number, number>();
  sim.endpoint(1).onMessage((msg) => {
    if (msg.kind === 'done') cpu.set(msg.id, msg.cpuMs);
  });
  sim.endpoint(1).send(0, work(1, 1, 0));
  sim.runFor(10);
  near(sim.cpuStats(0).busyMs, 2, 'restart');
  near(cpu.get(1), 2, "the actor's CPU clock after it");
});

test('bandwidth serializes large messages at the sender and at a receiver two senders share', () => {
  const bytesPerSec = 10_000_000;
  const nic = { bytesPerSec, frameBytes: 1 << 20, frameOverheadBytes: 0 };
  const sim = workSim(1, {}, nic);
  const got = answers(sim, 1);
  const pad = 'x'.repeat(9_974);
  const wire = workModule.codec.encode(work(1, 1, 0, pad)).byteLength;
  const wireMs = (wire * 1000) / bytesPerSec;
  for (let id = 1; id <= 3; id++) sim.endpoint(1).send(0, work(1, id, 0, pad));
  sim.runFor(50);
  // Each leaves after the one before it; the answers are small.
  const small =
    (workModule.codec.encode({ kind: 'done', epoch: 0, sender: 0, id: 1, atMs: 0, cpuMs: 0 })
      .byteLength *
      1000) /
    bytesPerSec;
  for (let id = 1; id <= 3; id++)
    near(got.get(id)?.[0], id * wireMs + 0.05 + small + 0.05, `answer ${id}`);

  // Two senders at once: the second message is received one wire time after the first.
  const shared = workSim(1, {}, nic);
  const times: number[] = [];
  shared.endpoint(1).onMessage(() => times.push(shared.now));
  shared.endpoint(2).onMessage(() => times.push(shared.now));
  shared.endpoint(1).send(0, work(1, 1, 0, pad));
  shared.endpoint(2).send(0, work(2, 2, 0, pad));
  shared.runFor(50);
  near(times[0], wireMs + 0.05 + small + 0.05, 'first of two senders');
  near(times[1], 2 * wireMs + 0.05 + small + 0.05, 'second of two senders');
});

test('a crash loses what waited for the actor and what its running job would have sent', () => {
  const sim = workSim(1, {});
  const got = answers(sim, 1);
  sim.endpoint(1).send(0, work(1, 1, 5));
  sim.at(0.1, 'queued request', () => sim.endpoint(1).send(0, work(1, 2, 1)));
  sim.at(1, 'crash', () => sim.crash(0));
  sim.at(2, 'restart', () => sim.restart(0));
  sim.at(3, 'after restart', () => sim.endpoint(1).send(0, work(1, 3, 1)));
  sim.runFor(50);
  assert.deepEqual([...got.keys()], [3]);
});

/** Relay costs: every receive 0.1 ms + 1 us per byte, a tick 0.05 ms, a woken job 0.02 ms. */
const RELAY_COSTS: CostModel = {
  receiveMs: (_to, _kind, bytes) => 0.1 + bytes / 1000,
  sendMs: (_from, _kind, bytes) => bytes / 5000,
  tickMs: () => 0.05,
  startMs: () => 0.5,
  restartMs: () => 0.3,
  flushMs: () => 0.01,
  jobMs: (_id, woke) => (woke ? 0.02 : 0),
};

function relayTrace(seed: number, costs: CostModel, nic = {}, meter?: CpuMeter): [string, number] {
  const sim = new Simulation<RelayMessage, { starts: number }, { actors: number; beatMs: number }>({
    seed,
    module: relayModule,
    actors: 4,
    endpoints: 1,
    config: { actors: 4, beatMs: 5 },
    cpu: { costs, hosts: [{ cores: 2, ids: [0, 1, 2, 3] }], ...(meter ? { meter } : {}) },
    nic,
  });
  const client = sim.endpoint(4);
  let replies = 0;
  client.onMessage(() => replies++);
  for (let id = 0; id < 100; id++) {
    sim.at(id * 0.3, `request ${id}`, () =>
      client.send(id % 4, {
        kind: 'request',
        epoch: 0,
        sender: 4,
        id,
        hops: 3,
        origin: 4,
        path: [],
      }),
    );
  }
  sim.at(12, 'crash', () => sim.crash(2));
  sim.at(20, 'restart', () => sim.restart(2));
  sim.runFor(100);
  return [sim.trace.hash(), replies];
}

test('with the CPU and bandwidth models the same seed and costs give the same trace', () => {
  const nic = { bytesPerSec: 1e6 };
  const [a, repliesA] = relayTrace(7, RELAY_COSTS, nic);
  const [b, repliesB] = relayTrace(7, RELAY_COSTS, nic);
  assert.equal(a, b);
  assert.equal(repliesA, repliesB);
  assert.ok(repliesA > 50, `most requests are answered (${repliesA})`);
  assert.notEqual(relayTrace(8, RELAY_COSTS, nic)[0], a, 'another seed');
  assert.notEqual(relayTrace(7, { ...RELAY_COSTS, tickMs: () => 0.06 }, nic)[0], a, 'other costs');
  assert.notEqual(relayTrace(7, RELAY_COSTS)[0], a, 'no bandwidth limit');
});

test('a meter sees every handler and encode a job runs, and the trace is the one without it', () => {
  // A made-up clock: each reading is 1000 ns after the last (the simulator never reads it).
  let clockNs = 0;
  const seen = new Map<string, number>();
  const meter: CpuMeter = {
    nowNs: () => (clockNs += 1000),
    handled: (_id, work, kind, bytes, ns) => {
      assert.ok(ns > 0 && bytes >= 0, `${work} ${kind}: ${ns} ns, ${bytes} bytes`);
      const key = kind === '' ? work : `${work} ${kind}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    },
  };
  const plain = relayTrace(7, RELAY_COSTS);
  assert.deepEqual(relayTrace(7, RELAY_COSTS, {}, meter), plain);
  for (const work of ['receive request', 'encode request', 'tick', 'start', 'round']) {
    assert.ok((seen.get(work) ?? 0) > 0, `${work} metered: ${JSON.stringify([...seen])}`);
  }
});
