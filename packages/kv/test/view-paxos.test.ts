import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SIM_TIMING } from '../src/protocol/timing.js';
import type { View } from '../src/protocol/view.js';
import { ViewPaxos, type PaxosHost } from '../src/protocol/view-paxos.js';

test('a one-member view decides the next change inside its own install (a joiner was waiting)', () => {
  const alone = [{ id: 0, incarnation: 1 }];
  let view: View = { epoch: 1, members: [...alone, { id: 2, incarnation: 1 }], shadows: [] };
  const installed: number[] = [];
  let paxos: ViewPaxos | undefined;
  const host: PaxosHost = {
    self: 0, timing: SIM_TIMING, now: () => 0, random: () => 0.5, view: () => view, admitted: () => true,
    send: (to, body) => {
      // Replica 2 promises and accepts at once (it is about to be removed).
      const p = paxos as ViewPaxos;
      const reply = { epoch: view.epoch, sender: to, target: 2, round: 1, proposer: 0 };
      if (body.kind === 'prepare') {
        p.onPromise({ ...reply, kind: 'promise', hasAccepted: false, acceptedRound: 0, acceptedProposer: 0, members: [], shadows: [] });
      } else if (body.kind === 'accept') p.onAccepted({ ...reply, kind: 'accepted' });
    },
    sendView: () => {},
    voteAllowedAtMs: () => 0,
    decided: (v) => {
      // As Membership installs: reset, then the change that waited (replica 1 rejoins) goes on.
      view = v;
      installed.push(v.epoch);
      paxos?.reset();
      if (v.epoch === 2) paxos?.propose({ members: [...alone, { id: 1, incarnation: 2 }], shadows: [] });
    },
  };
  paxos = new ViewPaxos(host);
  paxos.propose({ members: alone, shadows: [] });
  assert.deepEqual(installed, [2, 3], 'epoch 2 (replica 0 alone), then epoch 3 decided by replica 0 alone, within it');
  assert.deepEqual(view.members.map((m) => m.id), [0, 1]);
});
