import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ActorId } from '@heal/actors/core';
import type { KeyTs, KvMessage, PersistScopeMsg } from '../src/protocol/messages.js';
import { compareTs, type Ts } from '../src/protocol/timestamp.js';
import type { View } from '../src/protocol/view.js';
import {
  MAX_OPEN_SCOPES,
  MAX_SCOPE_ANSWERS,
  PersistScopes,
  type PersistScopesHost,
} from '../src/protocol/persist-scopes.js';

/** PersistScopes at replica 0 of members 0..n-1, with a hand-built host that records what it sends. */
class Host implements PersistScopesHost {
  readonly self: ActorId = 0;
  nowMs = 0;
  epoch = 3;
  members: ActorId[];
  readonly persisted = new Map<string, Ts>();
  readonly sent: { to: ActorId; msg: KvMessage }[] = [];
  syncRequests = 0;

  constructor(members: number) {
    this.members = Array.from({ length: members }, (_, i) => i);
  }
  view(): View {
    return {
      epoch: this.epoch,
      members: this.members.map((id) => ({ id, incarnation: 0 })),
      shadows: [],
    };
  }
  now(): number {
    return this.nowMs;
  }
  send(to: ActorId, msg: KvMessage): void {
    this.sent.push({ to, msg });
  }
  persistedAtLeast(key: string, ts: Ts): boolean {
    const have = this.persisted.get(key);
    return have !== undefined && compareTs(have, ts) >= 0;
  }
  requestSync(): void {
    this.syncRequests++;
  }
  take(): string[] {
    return this.sent.splice(0).map(({ to, msg }) => {
      if (msg.kind === 'scope-sync')
        return `${to} scope-sync e${msg.epoch} #${msg.scopeId} from ${msg.sender} ${msg.items.map((i) => i.key).join(',')}`;
      if (msg.kind === 'scope-ok')
        return `${to} scope-ok e${msg.epoch} #${msg.scopeId} ${msg.ok} from ${msg.sender}`;
      if (msg.kind === 'persist-scope-ok')
        return `${to} persist-scope-ok req ${msg.reqId} from ${msg.sender}`;
      return `${to} ${msg.kind}`;
    });
  }
}

const CLIENT: ActorId = 100;
const item = (key: string, version: number): KeyTs => ({ key, version, cid: 1 });
const request = (reqId: number, items: KeyTs[]): PersistScopeMsg => ({
  kind: 'persist-scope',
  epoch: 0,
  sender: CLIENT,
  reqId,
  items,
});

test('a persist scope asks every member, answers after the sync whether each item is held, and completes once all said yes', () => {
  const host = new Host(3);
  const scopes = new PersistScopes(host);
  assert.equal(scopes.open(request(7, [item('a', 2), item('b', 1)])), true);
  assert.deepEqual(host.take(), ['1 scope-sync e3 #1 from 0 a,b', '2 scope-sync e3 #1 from 0 a,b']);
  assert.equal(host.syncRequests, 1, 'the coordinator asked itself: it syncs in its next flush');
  host.persisted.set('a', ts(2));
  scopes.answer();
  assert.deepEqual(host.take(), [], 'b is not held here: no yes from itself');
  assert.equal(scopes.stats.scopesCompleted, 0);
  scopes.onOk(1, 1, true);
  scopes.onOk(2, 1, true);
  scopes.onOk(2, 99, true);
  assert.deepEqual(host.take(), [], 'still waiting for itself');
  // the retry asks only itself (1 and 2 said yes)
  host.nowMs = 10;
  scopes.tick(10);
  assert.deepEqual(host.take(), []);
  host.persisted.set('b', ts(4)); // a later ts of b counts
  scopes.answer();
  assert.deepEqual(host.take(), [`${CLIENT} persist-scope-ok req 7 from 0`]);
  assert.equal(scopes.stats.scopesCompleted, 1);
  scopes.onOk(1, 1, true);
  assert.deepEqual(host.take(), [], 'a completed scope is forgotten');
});

function ts(version: number): Ts {
  return { version, cid: 1 };
}

test('a member answers each scope-sync after its next sync, with the view epoch; a no is not counted', () => {
  const host = new Host(3);
  const scopes = new PersistScopes(host);
  scopes.answer();
  assert.deepEqual(host.take(), [], 'nothing asked: nothing answered');
  scopes.onSync(1, 4, [item('a', 1)]);
  scopes.onSync(2, 5, [item('a', 1), item('b', 1)]);
  assert.equal(host.syncRequests, 2);
  host.persisted.set('a', ts(1));
  host.epoch = 4;
  scopes.answer();
  assert.deepEqual(host.take(), ['1 scope-ok e4 #4 true from 0', '2 scope-ok e4 #5 false from 0']);
  scopes.answer();
  assert.deepEqual(host.take(), [], 'each answer once');

  assert.equal(scopes.open(request(1, [item('c', 1)])), true);
  host.take();
  scopes.onOk(1, 1, false);
  scopes.onOk(2, 1, true);
  host.persisted.set('c', ts(1));
  scopes.answer();
  assert.deepEqual(host.take(), [], '1 said no');
});

test('unanswered members are asked again once retryMs passed since the last ask, and only they', () => {
  const host = new Host(4);
  const scopes = new PersistScopes(host);
  host.nowMs = 5;
  scopes.open(request(1, [item('a', 1)]));
  host.take();
  scopes.onOk(2, 1, true);
  host.nowMs = 14;
  scopes.tick(10);
  assert.deepEqual(host.take(), []);
  host.nowMs = 15;
  scopes.tick(10);
  assert.deepEqual(host.take(), ['1 scope-sync e3 #1 from 0 a', '3 scope-sync e3 #1 from 0 a']);
  assert.equal(host.syncRequests, 2, 'and itself, which has not answered yet');
  host.nowMs = 24;
  scopes.tick(10);
  assert.deepEqual(host.take(), [], 'the retry restarted the interval');
});

test('a view without the members that did not answer completes the scope', () => {
  const host = new Host(3);
  const scopes = new PersistScopes(host);
  scopes.open(request(9, [item('a', 1)]));
  scopes.open(request(10, [item('b', 1)]));
  host.take();
  host.persisted.set('a', ts(1));
  scopes.answer();
  scopes.onOk(1, 1, true);
  scopes.viewInstalled();
  assert.deepEqual(host.take(), []);
  host.members = [0, 1];
  scopes.viewInstalled();
  assert.deepEqual(host.take(), [`${CLIENT} persist-scope-ok req 9 from 0`]);
  assert.equal(scopes.stats.scopesCompleted, 1);
});

test('at most MAX_OPEN_SCOPES scopes are open at once, and a member holds at most MAX_SCOPE_ANSWERS answers', () => {
  const host = new Host(1);
  const scopes = new PersistScopes(host);
  for (let i = 0; i < MAX_OPEN_SCOPES; i++)
    assert.equal(scopes.open(request(i, [item('a', 1)])), true);
  assert.equal(scopes.open(request(MAX_OPEN_SCOPES, [item('a', 1)])), false, 'one too many: busy');
  // Each open asked itself; the answers held are bounded.
  for (let i = MAX_OPEN_SCOPES; i < MAX_SCOPE_ANSWERS + 10; i++)
    scopes.onSync(0, i + 1, [item('a', 1)]);
  assert.equal(host.syncRequests, MAX_SCOPE_ANSWERS);
  host.persisted.set('a', ts(1));
  scopes.answer();
  assert.equal(
    scopes.stats.scopesCompleted,
    MAX_OPEN_SCOPES,
    'its own answers complete its scopes (a single-member view)',
  );
  assert.equal(host.sent.length, MAX_OPEN_SCOPES);
  assert.equal(scopes.open(request(1, [item('a', 1)])), true, 'room again');
});
