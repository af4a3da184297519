import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation, forEachSeed, replayCommand, suiteSeeds, type ActorId } from '../src/index.js';
import {
  relayModule,
  type RelayConfig,
  type RelayMessage,
  type RelayStorage,
} from './fixtures/relay-actor.js';

const ACTORS = 4;
const CLIENT: ActorId = ACTORS;

function makeSim(seed: number, network = {}): Simulation<RelayMessage, RelayStorage, RelayConfig> {
  return new Simulation({
    seed,
    module: relayModule,
    actors: ACTORS,
    endpoints: 1,
    config: { actors: ACTORS, beatMs: 5 },
    network,
  });
}

/** Sends `count` requests at seeded random times; returns the ids that got replies. */
function drive(
  sim: Simulation<RelayMessage, RelayStorage, RelayConfig>,
  count: number,
  seed: number,
): Set<number> {
  const client = sim.endpoint(CLIENT);
  const replies = new Set<number>();
  client.onMessage((msg) => {
    assert.equal(msg.kind, 'reply');
    if (msg.kind === 'reply') replies.add(msg.id);
  });
  let at = 0;
  for (let id = 0; id < count; id++) {
    at += ((seed * 7919 + id * 104729) % 1000) / 1000;
    sim.at(at, `request ${id}`, () => {
      client.send(id % ACTORS, {
        kind: 'request',
        epoch: 0,
        sender: CLIENT,
        id,
        hops: 3,
        origin: CLIENT,
        path: [],
      });
    });
  }
  sim.runFor(at + 50);
  return replies;
}

test('the same seed gives an identical trace; another seed a different one', () => {
  const run = (seed: number): [string, number] => {
    const sim = makeSim(seed);
    drive(sim, 200, 1);
    return [sim.trace.hash(), sim.trace.count];
  };
  const [a, countA] = run(42);
  const [b, countB] = run(42);
  const [c] = run(43);
  assert.equal(a, b);
  assert.equal(countA, countB);
  assert.ok(countA > 1000, `the trace records every event (${countA})`);
  assert.notEqual(a, c);
});

test('without faults every request is answered along the expected path', () => {
  const sim = makeSim(1);
  const client = sim.endpoint(CLIENT);
  const paths = new Map<number, number[]>();
  client.onMessage((msg) => {
    if (msg.kind === 'reply') paths.set(msg.id, msg.path);
  });
  for (let id = 0; id < 50; id++) {
    client.send(id % ACTORS, {
      kind: 'request',
      epoch: 0,
      sender: CLIENT,
      id,
      hops: 5,
      origin: CLIENT,
      path: [],
    });
  }
  sim.runFor(100);
  assert.equal(paths.size, 50);
  for (const [id, path] of paths) {
    assert.deepEqual(
      path,
      Array.from({ length: 6 }, (_, i) => (id + i) % ACTORS),
    );
  }
  assert.equal(
    sim.stats.lost + sim.stats.droppedDown + sim.stats.droppedPartition + sim.stats.codecErrors,
    0,
  );
});

test('message loss drops a seeded fraction of messages', () => {
  const sim = makeSim(3, { lossRate: 0.2 });
  const replies = drive(sim, 400, 3);
  assert.ok(sim.stats.lost > 0);
  // A request needs 5 messages to survive (request, 3 hops, reply): about 0.8^5 = 33% get through.
  assert.ok(replies.size > 60 && replies.size < 220, `answered ${replies.size} of 400`);
});

test('fifo links deliver in send order; other links may reorder', () => {
  const order = (fifo: boolean): number[] => {
    const sim = makeSim(5, { minMs: 0.1, maxMs: 5, fifo });
    const client = sim.endpoint(CLIENT);
    const got: number[] = [];
    client.onMessage((msg) => {
      if (msg.kind === 'reply') got.push(msg.id);
    });
    for (let id = 0; id < 100; id++) {
      client.send(0, {
        kind: 'request',
        epoch: 0,
        sender: CLIENT,
        id,
        hops: 0,
        origin: CLIENT,
        path: [],
      });
    }
    sim.runFor(100);
    return got;
  };
  const sorted = Array.from({ length: 100 }, (_, i) => i);
  assert.deepEqual(order(true), sorted);
  const reordered = order(false);
  assert.equal(reordered.length, 100);
  assert.notDeepEqual(reordered, sorted);
});

test('a partition drops traffic across the cut until it heals', () => {
  const sim = makeSim(9);
  const client = sim.endpoint(CLIENT);
  const replies: number[] = [];
  client.onMessage((msg) => {
    if (msg.kind === 'reply') replies.push(msg.id);
  });
  sim.network.partition([[0, 1, CLIENT]]);
  const send = (id: number, hops: number): void =>
    client.send(0, {
      kind: 'request',
      epoch: 0,
      sender: CLIENT,
      id,
      hops,
      origin: CLIENT,
      path: [],
    });
  send(1, 1); // 0 -> 1 -> client: inside the group
  send(2, 2); // 0 -> 1 -> 2: crosses the cut
  sim.runFor(20);
  assert.deepEqual(replies, [1]);
  assert.ok(sim.stats.droppedPartition > 0);
  sim.network.heal();
  send(3, 2);
  sim.runFor(20);
  assert.deepEqual(replies, [1, 3]);
});

test('a crashed actor loses its timers and messages; a restart keeps its storage', () => {
  const sim = makeSim(11);
  sim.runFor(20);
  sim.crash(2);
  assert.equal(sim.isUp(2), false);
  const firedBefore = sim.stats.timersFired;
  sim.runFor(20);
  assert.ok(sim.stats.droppedDown > 0, 'beats to the crashed actor are dropped');
  assert.ok(sim.stats.timersFired > firedBefore, 'the others keep beating');
  assert.throws(() => sim.crash(2), /already down/);
  sim.restart(2);
  assert.equal(sim.storage(2).starts, 2);
  sim.runFor(20);
  assert.ok((sim.actor(2)?.stats?.()['beats'] ?? 0) > 0, 'the restarted actor beats again');
});

test('a failing seed reports the command that replays it', async () => {
  const url = import.meta.url;
  await assert.rejects(
    forEachSeed({ name: 'some scenario' }, url, 3, (seed) => {
      if (seed === 2) throw new Error('boom');
    }),
    (err: Error) => {
      assert.match(err.message, /seed=2 failed: boom/);
      assert.match(
        err.message,
        /replay: HEAL_SEED=2 node --test --test-name-pattern='some scenario' .*simulator\.test\.js/,
      );
      return true;
    },
  );
  assert.equal(replayCommand('a.b (c)', url, 5).includes("'a\\.b \\(c\\)'"), true);
  assert.deepEqual(suiteSeeds(3, {}), [1, 2, 3]);
  assert.deepEqual(suiteSeeds(3, { HEAL_SEED: '17' }), [17]);
  assert.equal(suiteSeeds(3, { HEAL_SEEDS: '10' }).length, 10);
  assert.throws(() => suiteSeeds(3, { HEAL_SEEDS: 'x' }), /HEAL_SEEDS must be a positive integer/);
});
