import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heal } from './run-heal.js';

test('heal demo --json prints one document with answered requests and the crash in it', async () => {
  const run = await heal('demo', '--duration-ms', '500', '--json');
  assert.equal(run.code, 0, run.stderr);
  const doc = JSON.parse(run.stdout) as {
    command: string;
    machine: Record<string, unknown>;
    config: Record<string, unknown>;
    results: Record<string, unknown>[];
  };
  assert.deepEqual(Object.keys(doc).sort(), ['command', 'config', 'machine', 'results']);
  assert.equal(doc.command, 'demo');
  for (const field of ['cpus', 'cpuModel', 'memGiB', 'node', 'os']) assert.ok(field in doc.machine, `machine.${field}`);
  assert.equal(doc.config['actors'], 4);
  assert.equal(doc.config['clients'], 2);
  assert.equal(doc.config['durationMs'], 500);
  assert.equal(doc.results.length, 1);

  const r = doc.results[0] as {
    replies: number;
    measuredReplies: number;
    requestsPerSec: number;
    p50Us: number;
    p99Us: number;
    rings: number;
    crash: { actor: number; restartedAtMs: number };
    windows: { window: string; meanRepliesPerBucket: number }[];
    repliesPer100Ms: number[];
    actors: { actor: number; incarnations: number; handled: number; handledDuringOutage: number; codecErrors: number }[];
  };
  assert.ok(r.measuredReplies > 0 && r.replies >= r.measuredReplies, `replies ${r.replies}, measured ${r.measuredReplies}`);
  assert.ok(r.requestsPerSec > 0);
  assert.ok(r.p50Us > 0 && r.p99Us >= r.p50Us, `p50 ${r.p50Us} µs, p99 ${r.p99Us} µs`);
  assert.equal(r.rings, 4 * 3 + 2 * 4 * 2);
  assert.equal(r.repliesPer100Ms.length, 5);
  assert.deepEqual(r.windows.map((w) => w.window), ['before', 'during', 'after']);
  assert.equal(r.actors.length, 4);
  for (const a of r.actors) {
    assert.equal(a.incarnations, a.actor === r.crash.actor ? 2 : 1);
    assert.ok(a.handled > 0, `actor ${a.actor} handled nothing`);
    assert.equal(a.codecErrors, 0);
    if (a.actor !== r.crash.actor) assert.ok(a.handledDuringOutage > 0, `actor ${a.actor} stopped while ${r.crash.actor} was down`);
  }
  const during = r.windows.find((w) => w.window === 'during');
  assert.ok(during && during.meanRepliesPerBucket > 0, 'clients got replies while an actor was down');
});

test('heal demo rejects bad flags and heal rejects unknown commands, with status 2', async () => {
  const [few, bogus, nosuch] = await Promise.all([heal('demo', '--actors', '1'), heal('demo', '--bogus'), heal('nosuch')]);
  assert.equal(few.code, 2);
  assert.match(few.stderr, /--actors must be an integer in \[2, 16\], got 1/);
  assert.equal(few.stdout, '');
  assert.equal(bogus.code, 2);
  assert.match(bogus.stderr, /--bogus/);
  assert.equal(nosuch.code, 2);
  assert.match(nosuch.stderr, /unknown command 'nosuch'/);
});
