import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KnownView } from '../src/client/known-view.js';
import type { ViewInfoMsg } from '../src/protocol/messages.js';

function view(epoch: number, members: number[], shadows: number[] = []): ViewInfoMsg {
  return {
    kind: 'view',
    epoch,
    sender: members[0] ?? 0,
    members: members.map((id) => ({ id, incarnation: 0 })),
    shadows,
  };
}

const serving = (known: KnownView): number[] =>
  [...Array(known.replicas).keys()].filter((id) => known.serves(id));

test('a client asks full members: not a replica outside the view, nor a shadow', () => {
  const known = new KnownView(5);
  assert.deepEqual(serving(known), [0, 1, 2, 3, 4], 'before any view, every replica');
  assert.equal(known.install(view(2, [0, 2, 3, 4])), true);
  assert.deepEqual(serving(known), [0, 2, 3, 4]);
  assert.equal(known.memberAfter(1), 2);
  assert.equal(known.install(view(3, [0, 1, 2, 3, 4], [1])), true);
  assert.deepEqual(
    serving(known),
    [0, 2, 3, 4],
    'the ShadowReplica is a member that serves nothing',
  );
  assert.equal(known.memberAfter(0), 2, 'the shadow is skipped');
});

test('within an epoch shadows only narrow: a late message listing more changes nothing', () => {
  const known = new KnownView(4);
  known.install(view(5, [0, 1, 2, 3], [1, 3]));
  assert.equal(known.install(view(5, [0, 1, 2, 3], [3])), true, 'replica 1 finished recovering');
  assert.deepEqual(serving(known), [0, 1, 2]);
  assert.equal(known.install(view(5, [0, 1, 2, 3], [1, 3])), false, 'a stale copy of the view');
  assert.deepEqual(serving(known), [0, 1, 2]);
  assert.equal(known.install(view(4, [0, 1, 2, 3])), false, 'an older epoch');
  assert.equal(
    known.install(view(6, [0, 1, 2, 3], [2])),
    true,
    'a newer view sets the shadows anew',
  );
  assert.deepEqual(serving(known), [0, 1, 3]);
});

test('in a view of shadows only (a cold start) every member is asked', () => {
  const known = new KnownView(3);
  known.install(view(7, [0, 1, 2], [0, 1, 2]));
  assert.deepEqual(serving(known), [0, 1, 2]);
  assert.equal(known.memberAfter(0), 1);
  known.install(view(7, [0, 1, 2], [1, 2]));
  assert.deepEqual(serving(known), [0], 'once one is full, only it');
});
