import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  COUNTED_SILENCE_MAX_FLOORS,
  FailureDetector,
  SILENCE_PEAK_HALF_LIFE_MS,
  SUSPICION_PEAK_FACTOR,
} from '../src/protocol/failure-detector.js';

const MEMBERS = [{ id: 0 }, { id: 1 }, { id: 2 }];

/** Replica 0's detector; 1 and 2 speak every `everyMs` until `untilMs` (1 stops at `oneStopsMs`). */
function heard(
  fd: FailureDetector,
  fromMs: number,
  untilMs: number,
  everyMs: number,
  oneStopsMs = Infinity,
): void {
  for (let t = fromMs; t <= untilMs; t += everyMs) {
    if (t <= oneStopsMs) fd.heard(1, t);
    fd.heard(2, t);
  }
}

test('a member silent past the floor is suspected while the others are heard', () => {
  const fd = new FailureDetector(3, 0, 50);
  heard(fd, 0, 640, 5, 600);
  assert.equal(fd.suspects(1, 640, MEMBERS), false, '40 ms of silence');
  heard(fd, 645, 650, 5, 600);
  assert.equal(fd.suspects(1, 651, MEMBERS), true, '51 ms of silence, 2 heard 1 ms ago');
  assert.equal(fd.suspects(2, 651, MEMBERS), false);
});

test('a replica that hears nobody (its own thread stalled) suspects nobody', () => {
  const fd = new FailureDetector(3, 0, 50);
  heard(fd, 0, 100, 5);
  assert.equal(fd.suspects(1, 400, MEMBERS), false, '300 ms of silence from everyone');
  assert.equal(fd.suspects(2, 400, MEMBERS), false);
  fd.heard(2, 400);
  assert.equal(fd.suspects(1, 400, MEMBERS), true, 'once 2 is heard, 1 alone is silent');
});

test('the timeout follows the longest recent silence, and forgets it with a half-life', () => {
  const fd = new FailureDetector(3, 0, 50);
  heard(fd, 0, 100, 5);
  fd.heard(1, 140); // a 40 ms gap: within the floor, so it counts
  assert.equal(fd.timeoutMs(1, 140), SUSPICION_PEAK_FACTOR * 40);
  heard(fd, 140, 200, 5);
  fd.heard(2, 270);
  assert.equal(fd.suspects(1, 270, MEMBERS), false, '70 ms < 80 ms');
  assert.equal(fd.suspects(1, 281, MEMBERS), true, '81 ms > 80 ms');
  const later = 200 + SILENCE_PEAK_HALF_LIFE_MS;
  assert.ok(
    Math.abs(fd.timeoutMs(1, later) - 50) < 1e-9,
    'after a half-life 2 x 20 ms is below the floor',
  );
});

test('a long silence raises the timeout at most to a bound (a partition healed must not hide a later crash)', () => {
  const fd = new FailureDetector(3, 0, 50);
  heard(fd, 0, 100, 5);
  fd.heard(1, 300); // 200 ms: a stalled thread, say
  assert.equal(fd.timeoutMs(1, 300), SUSPICION_PEAK_FACTOR * 200);
  fd.heard(2, 5000);
  fd.heard(2, 10_000); // seconds: counted as COUNTED_SILENCE_MAX_FLOORS floors
  assert.equal(fd.timeoutMs(2, 10_000), SUSPICION_PEAK_FACTOR * COUNTED_SILENCE_MAX_FLOORS * 50);
});

test('a started clock gives grace and measures no silence', () => {
  const fd = new FailureDetector(3, 0, 50);
  fd.startClock(1, 1000);
  fd.startClock(2, 1000);
  assert.equal(fd.suspects(1, 1040, MEMBERS), false);
  fd.heard(1, 1045);
  assert.equal(fd.timeoutMs(1, 1045), 50, 'the grace was not a silence');
});

test('in a view of two, the other is suspected on its silence alone', () => {
  const fd = new FailureDetector(2, 0, 50);
  fd.heard(1, 0);
  assert.equal(fd.suspects(1, 60, [{ id: 0 }, { id: 1 }]), true);
});
