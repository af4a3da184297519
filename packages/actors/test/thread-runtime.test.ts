import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LoadGenerators,
  sharedClockMs,
  ThreadRuntime,
  type ActorId,
  type ThreadEndpoint,
} from '../src/index.js';
import type { RelayConfig, RelayMessage } from './fixtures/relay-actor.js';
import type { RelayLoadParams } from './fixtures/relay-load-task.js';

const ACTORS = 3;
const moduleRef = { url: new URL('./fixtures/relay-actor.js', import.meta.url).href };

function start(
  endpoints: number,
  beatMs = 0,
  spareWorkers = true,
  spareWarmUpDelayMs?: number,
  warmUp: RelayConfig['warmUp'] = 'relay',
  warmUpHold?: Int32Array,
): Promise<ThreadRuntime<RelayMessage, RelayConfig>> {
  return ThreadRuntime.start<RelayMessage, RelayConfig>({
    module: moduleRef,
    actors: ACTORS,
    endpoints,
    config: { actors: ACTORS, beatMs, warmUp, ...(warmUpHold ? { warmUpHold } : {}) },
    ringBytes: 1 << 16,
    spareWorkers,
    ...(spareWarmUpDelayMs !== undefined ? { spareWarmUpDelayMs } : {}),
  });
}

/** Sends one request and resolves with the reply's path. */
function request(
  client: ThreadEndpoint<RelayMessage>,
  to: ActorId,
  id: number,
  hops: number,
): Promise<number[]> {
  return new Promise((resolve) => {
    client.onMessage((msg) => {
      if (msg.kind === 'reply' && msg.id === id) resolve(msg.path);
    });
    client.send(to, {
      kind: 'request',
      epoch: 0,
      sender: client.self,
      id,
      hops,
      origin: client.self,
      path: [],
    });
  });
}

/** Real threads on a shared machine: a hang must fail the test, not stall the suite. */
const THREAD_TEST_TIMEOUT_MS = 60_000;

test(
  'actors in worker threads relay a request around the mesh and answer the client',
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const runtime = await start(1);
    try {
      const client = runtime.endpoint(ACTORS);
      assert.deepEqual(await request(client, 0, 1, 4), [0, 1, 2, 0, 1]);
      assert.deepEqual(await request(client, 2, 2, 0), [2]);
      const stats = await runtime.stats(1);
      assert.equal(stats.self, 1);
      assert.equal(stats.actor['relayed'], 2);
      assert.equal(stats.codecErrors, 0);
      // An actor without status() is polled through its stats().
      assert.equal((await runtime.status(1))['relayed'], 2);
    } finally {
      await runtime.shutdown();
    }
  },
);

test(
  "when an actor's worker exits, every other actor is told which incarnation ended",
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const runtime = await start(0);
    try {
      await runtime.crash(1);
      // The runtime rang the others' doorbells; each reports at its next round.
      const reported = async (id: ActorId, count: number): Promise<Record<string, number>> => {
        let actor: Record<string, number> = {};
        for (let i = 0; i < 10_000 && (actor['peersDown'] ?? 0) < count; i++) {
          actor = (await runtime.stats(id)).actor;
          await new Promise((r) => setImmediate(r));
        }
        return actor;
      };
      for (const id of [0, 2])
        assert.deepEqual(await reported(id, 1), {
          relayed: 0,
          beats: 0,
          beatsSeen: 0,
          peersDown: 1,
          lastDown: 1000,
        });
      await runtime.restart(1);
      assert.equal(
        (await runtime.stats(1)).actor['peersDown'],
        0,
        'a new incarnation is not told of ends before it started',
      );
      await runtime.stop(1);
      assert.equal((await reported(0, 2))['lastDown'], 1001, 'a stop ends an incarnation too');
    } finally {
      await runtime.shutdown();
    }
  },
);

test(
  'timers fire through the context in worker threads',
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const runtime = await start(0, 1);
    try {
      let beats = 0;
      for (let i = 0; i < 10_000 && beats < 5; i++) {
        beats = (await runtime.stats(0)).actor['beats'] ?? 0;
        await new Promise((r) => setImmediate(r));
      }
      assert.ok(beats >= 5, `actor 0 beat ${beats} times`);
    } finally {
      await runtime.shutdown();
    }
  },
);

test(
  'a crashed actor stops answering; after restart it answers again with fresh state',
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const runtime = await start(1);
    try {
      const client = runtime.endpoint(ACTORS);
      assert.deepEqual(await request(client, 1, 1, 0), [1]);
      await runtime.crash(1);
      assert.equal(runtime.isUp(1), false);
      await assert.rejects(runtime.stats(1), /not running/);
      // Sent while 1 is down: discarded when it restarts, so never answered.
      client.send(1, {
        kind: 'request',
        epoch: 0,
        sender: ACTORS,
        id: 99,
        hops: 0,
        origin: ACTORS,
        path: [],
      });
      await runtime.restart(1);
      assert.deepEqual(await request(client, 1, 2, 1), [1, 2]);
      const stats = await runtime.stats(1);
      assert.equal(
        stats.actor['relayed'],
        1,
        'the new incarnation saw only the request after its restart',
      );
      await assert.rejects(runtime.restart(1), /is running/);
    } finally {
      await runtime.shutdown();
    }
  },
);

test(
  "a cold restart resolves with when each step of the new worker's start ended, in order",
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const runtime = await start(1, 0, false);
    try {
      await runtime.crash(2);
      const before = sharedClockMs();
      const s = await runtime.restart(2);
      const after = sharedClockMs();
      assert.equal(s.spare, false);
      const marks = [
        before,
        s.requestedMs,
        s.spawnMs,
        s.scriptMs,
        s.importedMs,
        s.assignedMs,
        s.storageMs,
        s.startedMs,
        s.readyMs,
        after,
      ];
      assert.deepEqual(
        [...marks].sort((a, b) => a - b),
        marks,
        `marks out of order: ${JSON.stringify(s)}`,
      );
      assert.ok(
        s.importedMs > s.scriptMs,
        'the actor module is imported after the worker script runs',
      );
      assert.deepEqual(await request(runtime.endpoint(ACTORS), 2, 1, 0), [2]);
    } finally {
      await runtime.shutdown();
    }
  },
);

test(
  'a crashed or stopped actor restarts on a spare worker booted while it was down',
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const runtime = await start(1);
    try {
      const client = runtime.endpoint(ACTORS);
      for (const [i, down] of [
        (id: ActorId) => runtime.crash(id),
        (id: ActorId) => runtime.stop(id),
      ].entries()) {
        await down(2);
        const s = await runtime.restart(2);
        assert.equal(s.spare, true);
        assert.ok(
          s.spawnMs < s.requestedMs,
          `the spare was created before the restart: ${JSON.stringify(s)}`,
        );
        const marks = [s.requestedMs, s.assignedMs, s.storageMs, s.startedMs, s.readyMs];
        assert.deepEqual(
          [...marks].sort((a, b) => a - b),
          marks,
          `marks out of order: ${JSON.stringify(s)}`,
        );
        assert.deepEqual(await request(client, 2, 10 + i, 1), [2, 0]);
      }
      const stats = await runtime.stats(2);
      assert.equal(stats.actor['relayed'], 1, 'each spare ran a fresh incarnation');
    } finally {
      await runtime.shutdown();
    }
  },
);

test(
  "a spare runs the module's warmUp before it takes its actor; one whose restart comes first skips it",
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    // Delay 0: the spare warms up as soon as it has imported the module, before it reads the
    // assignment, so the restart reports the warm-up whenever it comes.
    const warming = await start(1, 0, true, 0);
    try {
      await warming.crash(2);
      const s = await warming.restart(2);
      assert.equal(s.spare, true);
      assert.deepEqual(s.warmUp, { relayed: 100 });
      assert.ok(s.importedMs <= s.warmedUpMs && s.warmedUpMs <= s.assignedMs, JSON.stringify(s));
      assert.deepEqual(await request(warming.endpoint(ACTORS), 2, 1, 1), [2, 0]);
      const stats = await warming.stats(2);
      assert.equal(stats.actor['relayed'], 1, 'the warm-up ran on a scratch actor, not this one');
    } finally {
      await warming.shutdown();
    }
    // A warm-up that throws is reported; the actor starts all the same.
    const broken = await start(1, 0, true, 0, 'fails');
    try {
      await broken.crash(2);
      const s = await broken.restart(2);
      assert.deepEqual(s.warmUp, { error: 'the warm-up broke' });
      assert.deepEqual(await request(broken.endpoint(ACTORS), 2, 3, 1), [2, 0]);
    } finally {
      await broken.shutdown();
    }
    // A spare's warm-up that would never end on its own: the assignment interrupts it (the worker
    // reads it while the warm-up holds the event loop), and the actor starts and serves. The hold
    // is set once the first workers started: theirs are not interrupted, they run to the end.
    const hold = new Int32Array(new SharedArrayBuffer(4));
    const endless = await start(1, 0, true, 0, 'until-interrupted', hold);
    try {
      Atomics.store(hold, 0, 1);
      await endless.crash(2);
      const s = await endless.restart(2);
      const report = s.warmUp as { relayed: number; interrupted?: true };
      assert.equal(report.interrupted, true, JSON.stringify(report));
      assert.deepEqual(await request(endless.endpoint(ACTORS), 2, 4, 1), [2, 0]);
      const stats = await endless.stats(2);
      assert.equal(
        stats.actor['relayed'],
        1,
        'the control plane works after the assignment was taken early',
      );
    } finally {
      await endless.shutdown();
    }
    // A delay no test outlives: the assignment arrives first and the spare never warms up.
    const late = await start(1, 0, true, THREAD_TEST_TIMEOUT_MS * 10);
    try {
      await late.crash(2);
      const s = await late.restart(2);
      assert.equal(s.spare, true);
      assert.equal(s.warmUp, undefined);
      assert.deepEqual(await request(late.endpoint(ACTORS), 2, 2, 1), [2, 0]);
    } finally {
      await late.shutdown();
    }
  },
);

test(
  'piscina load generators drive the actors over rings passed in the task payload',
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    const clients = 2;
    const runtime = await start(clients);
    const generators = new LoadGenerators<RelayLoadParams, { replies: number; maxId: number }>(
      new URL('./fixtures/relay-load-task.js', import.meta.url),
      clients,
    );
    try {
      const requests = 20_000;
      const results = await generators.run(runtime, [ACTORS, ACTORS + 1], () => ({
        actors: ACTORS,
        requests,
        hops: 2,
        window: 64,
      }));
      assert.deepEqual(results, [
        { replies: requests, maxId: requests - 1 },
        { replies: requests, maxId: requests - 1 },
      ]);
      let relayed = 0;
      for (let id = 0; id < ACTORS; id++)
        relayed += (await runtime.stats(id)).actor['relayed'] ?? 0;
      assert.equal(relayed, clients * requests * 3);
    } finally {
      await generators.destroy();
      await runtime.shutdown();
    }
  },
);

test(
  'starting with a module that is not an actor module fails with a clear error',
  { timeout: THREAD_TEST_TIMEOUT_MS },
  async () => {
    await assert.rejects(
      ThreadRuntime.start({
        module: { url: moduleRef.url, exportName: 'Request' },
        actors: 1,
        config: {},
      }),
      /has no codec/,
    );
    await assert.rejects(
      ThreadRuntime.start({ module: moduleRef, actors: 0, config: {} }),
      /actors must be a positive integer/,
    );
  },
);
