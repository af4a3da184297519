import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyReplicas } from '../src/cluster/verify.js';
import { utf8ByteString as byteString } from '@heal/actors';
import type { KeyRecord } from '../src/index.js';

const record = (key: string, version: number, value = `v${version}`): KeyRecord => ({
  key,
  ts: { version, cid: 0 },
  value: byteString(value),
  state: 'valid',
  origin: 0,
  seq: version,
});
const replica = (id: number, records: KeyRecord[]) => ({
  id,
  records: new Map(records.map((r) => [r.key, r])),
});

test('replicas are equal only with the same keys, each with the same ts, value and state', () => {
  const a = [record('x', 1), record('y', 2)];
  assert.equal(verifyReplicas([replica(0, a), replica(1, a), replica(2, a)]).equal, true);
  const result = verifyReplicas([
    replica(0, a),
    replica(1, [record('x', 1)]),
    replica(2, [record('x', 1), record('y', 3)]),
    replica(3, [record('x', 1, 'other'), record('y', 2), record('z', 1)]),
  ]);
  assert.equal(result.equal, false);
  assert.equal(result.keys, 2);
  const said = result.differences.join('\n');
  assert.match(said, /replica 0 holds 2 keys, replica 1 1/);
  assert.match(said, /key "y": on 0 .*, missing on 1/);
  assert.match(said, /key "y": 0 has .* valid, 2 has/);
  assert.match(said, /key "x": 0 has .* valid, 3 has/, 'a different value');
  assert.match(said, /key "z": on 3, missing on 0/);
});
