import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordWireBytes } from '@heal/kv/replica';
import { CommitLog } from '../src/baseline-log.js';
import { rec } from './heal-session-harness.js';

/** Unit tests of leader-incremental's commit log (the keeper's numbered committed writes). */

/** A log holding one write of each key `k1`..`k<count>`, at positions 1..count. */
function logOf(count: number): CommitLog {
  const log = new CommitLog();
  for (let i = 1; i <= count; i++) log.append(rec(`k${i}`, 1, i));
  return log;
}

const bytesOf = (key: string, version: number): number => recordWireBytes(rec(key, version, 0));

test('commit log: writes take positions 1, 2, ... and their bytes add up', () => {
  const log = new CommitLog();
  assert.deepEqual([log.firstPos, log.nextPos, log.last, log.length, log.bytes], [1, 1, 0, 0, 0]);
  assert.equal(log.append(rec('a', 1, 1)), 1);
  assert.equal(log.append(rec('bb', 1, 2)), 2);
  assert.deepEqual([log.firstPos, log.nextPos, log.last, log.length], [1, 3, 2, 2]);
  assert.equal(log.bytes, bytesOf('a', 1) + bytesOf('bb', 1));
  assert.deepEqual(log.at(2), {
    key: 'bb',
    version: 1,
    cid: 0,
    value: 'bb=1',
    state: 'valid',
    origin: 0,
    seq: 2,
  });
  assert.equal(log.bytesAt(1), bytesOf('a', 1));
});

test('commit log: truncate drops the oldest entries until the bound holds, and counts them', () => {
  const log = logOf(4);
  const each = bytesOf('k1', 1);
  assert.equal(log.truncate(4 * each), 0, 'exactly at the bound: nothing dropped');
  assert.equal(log.length, 4);
  assert.equal(log.truncate(2 * each + 1), 2);
  assert.deepEqual([log.firstPos, log.nextPos, log.length, log.bytes], [3, 5, 2, 2 * each]);
  assert.equal(log.at(3).key, 'k3');
  // A bound below zero empties the log and stops there (nothing left to drop).
  assert.equal(log.truncate(-1), 2);
  assert.deepEqual([log.firstPos, log.nextPos, log.length, log.bytes], [5, 5, 0, 0]);
  assert.equal(log.truncate(-1), 0);
  assert.equal(log.append(rec('k5', 1, 5)), 5, 'positions go on after the truncation');
});

test("commit log: positionOf finds a key's newest retained write, by its ts", () => {
  const log = new CommitLog();
  log.append(rec('a', 1, 1));
  log.append(rec('a', 2, 2));
  log.append(rec('b', 1, 3));
  assert.equal(log.positionOf('a', { version: 2, cid: 0 }), 2);
  assert.equal(log.positionOf('b', { version: 1, cid: 0 }), 3);
  assert.equal(log.positionOf('a', { version: 1, cid: 0 }), undefined, 'an older write of a');
  assert.equal(log.positionOf('a', { version: 2, cid: 1 }), undefined, 'another coordinator');
  assert.equal(log.positionOf('c', { version: 1, cid: 0 }), undefined, 'a key never logged');
  const each = bytesOf('a', 1);
  // Dropping a's older write leaves its newest one found.
  assert.equal(log.truncate(log.bytes - each), 1);
  assert.equal(log.positionOf('a', { version: 2, cid: 0 }), 2);
  // Dropping a's newest write forgets the key.
  assert.equal(log.truncate(log.bytes - each), 1);
  assert.equal(log.positionOf('a', { version: 2, cid: 0 }), undefined);
  assert.equal(log.positionOf('b', { version: 1, cid: 0 }), 3);
});

test('commit log: at and bytesAt refuse positions outside the retained ones', () => {
  const log = logOf(5);
  log.truncate(2 * bytesOf('k1', 1));
  assert.equal(log.firstPos, 4);
  for (const pos of [3, 6, 0]) {
    assert.throws(() => log.at(pos), /log position \d+ outside \[4, 6\)/, `at(${pos})`);
    assert.throws(() => log.bytesAt(pos), /log position \d+ outside \[4, 6\)/, `bytesAt(${pos})`);
  }
  assert.equal(log.at(4).key, 'k4');
  assert.equal(log.at(5).key, 'k5');
  assert.equal(log.bytesAt(5), bytesOf('k5', 1));
});

test('commit log: bytesFrom sums the retained entries from a position on', () => {
  const log = new CommitLog();
  log.append(rec('a', 1, 1));
  log.append(rec('bb', 1, 2));
  log.append(rec('ccc', 1, 3));
  log.append(rec('dddd', 1, 4));
  log.truncate(log.bytes - bytesOf('a', 1));
  assert.equal(log.firstPos, 2);
  assert.equal(log.bytesFrom(3), bytesOf('ccc', 1) + bytesOf('dddd', 1));
  assert.equal(log.bytesFrom(1), log.bytes, 'from before the log: what it retains');
  assert.equal(log.bytesFrom(5), 0, 'from its end: nothing');
});

test('commit log: clear empties it at the next position, and it goes on from there', () => {
  const log = logOf(3);
  log.clear();
  assert.deepEqual([log.firstPos, log.nextPos, log.last, log.length, log.bytes], [4, 4, 3, 0, 0]);
  assert.equal(log.positionOf('k1', { version: 1, cid: 0 }), undefined);
  assert.equal(log.append(rec('x', 1, 9)), 4);
  assert.equal(log.at(4).key, 'x');
  assert.equal(log.bytesAt(4), bytesOf('x', 1));
  assert.equal(log.positionOf('x', { version: 1, cid: 0 }), 4);
  assert.equal(log.truncate(0), 1);
});

test('commit log: a long consumed prefix is compacted away and positions still read right', () => {
  const log = new CommitLog();
  const count = 2100;
  for (let i = 1; i <= count; i++) log.append(rec(`k${i % 10}`, i, i));
  // Over 1024 dropped and over half the array: the consumed prefix goes.
  const kept = 1000;
  const keptBytes = log.bytesFrom(count - kept + 1);
  assert.equal(log.truncate(keptBytes), count - kept);
  assert.equal(log.length, kept);
  assert.equal(log.firstPos, count - kept + 1);
  assert.equal(log.at(count - kept + 1).version, count - kept + 1);
  assert.equal(log.at(count).version, count);
  assert.equal(log.positionOf('k0', { version: count, cid: 0 }), count);
  assert.equal(log.truncate(0), kept);
  assert.equal(log.append(rec('z', 1, 1)), count + 1);
  assert.equal(log.at(count + 1).key, 'z');
});
