import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Prng } from '@heal/base';
import {
  checkHistory,
  formatReport,
  simulateHistory,
  type GetOperation,
  type History,
  type Operation,
} from '../../src/index.js';
import { referenceLinearizable } from './helpers.js';

const SEEDS = 40;

/** Changes one completed read to a value no put of its key ever writes. */
function mutateNeverWritten(
  h: History,
  prng: Prng,
): { history: History; index: number } | undefined {
  const reads = h.operations.flatMap((o, i) => (o.op === 'get' && o.return !== null ? [i] : []));
  if (reads.length === 0) return undefined;
  const index = prng.pick(reads);
  const ops = [...h.operations];
  ops[index] = { ...(ops[index] as GetOperation), value: 'never-written' };
  return { history: { operations: ops }, index };
}

/**
 * Changes one completed read r to a stale value v: v was written by put p, a put q of another
 * value called after every put of v returned and returned before r's call. So at r the
 * register cannot hold v in any linearization.
 */
function mutateStale(h: History, prng: Prng): { history: History; index: number } | undefined {
  const ops = h.operations;
  const candidates: [number, string][] = [];
  for (let i = 0; i < ops.length; i++) {
    const r = ops[i] as Operation;
    if (r.op !== 'get' || r.return === null) continue;
    const puts = ops.filter((o) => o.key === r.key && o.op === 'put');
    for (const p of puts) {
      const v = p.value as string;
      if (v === r.value) continue;
      const allOfV = puts.filter((o) => o.value === v);
      if (allOfV.some((o) => o.return === null)) continue;
      const lastReturn = Math.max(...allOfV.map((o) => o.return as number));
      const q = puts.find(
        (o) => o.value !== v && o.return !== null && o.call > lastReturn && o.return < r.call,
      );
      if (q !== undefined) {
        candidates.push([i, v]);
        break;
      }
    }
  }
  if (candidates.length === 0) return undefined;
  const [index, value] = prng.pick(candidates);
  const out = [...ops];
  out[index] = { ...(out[index] as GetOperation), value };
  return { history: { operations: out }, index };
}

describe('randomized histories from a simulated linearizable register store', () => {
  test('simulated histories are linearizable (varied clients, keys, value pools, pending, equal ticks)', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const prng = new Prng(seed);
      const h = simulateHistory({
        seed,
        operations: 200 + prng.int(800),
        clients: 1 + prng.int(12),
        keys: 1 + prng.int(5),
        valuePool: prng.int(4),
        pendingRate: prng.pick([0, 0.02, 0.1]),
        sameTickRate: prng.pick([0, 0.3, 0.6]),
      });
      const r = checkHistory(h);
      assert.equal(r.verdict, 'ok', `seed=${seed}\n${formatReport(r)}`);
    }
  });

  test('a read changed to a never-written value is caught, at that read', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const prng = new Prng(1000 + seed);
      const h = simulateHistory({ seed, operations: 300, clients: 8, keys: 3, pendingRate: 0.02 });
      const m = mutateNeverWritten(h, prng);
      assert.ok(m !== undefined, `seed=${seed}: no read to mutate`);
      const r = checkHistory(m.history);
      assert.equal(r.verdict, 'illegal', `seed=${seed}`);
      const f = r.failure;
      assert.ok(f !== undefined);
      assert.equal(f.indices[f.stuck], m.index, `seed=${seed}\n${formatReport(r)}`);
    }
  });

  test('a read changed to a stale value is caught', () => {
    let mutated = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const prng = new Prng(2000 + seed);
      const h = simulateHistory({
        seed,
        operations: 300,
        clients: 6,
        keys: 2,
        valuePool: prng.int(3),
        pendingRate: 0.02,
      });
      const m = mutateStale(h, prng);
      if (m === undefined) continue;
      mutated++;
      const r = checkHistory(m.history);
      assert.equal(r.verdict, 'illegal', `seed=${seed}: read operations[${m.index}] made stale`);
      assert.equal(r.failure?.key, (m.history.operations[m.index] as Operation).key);
    }
    assert.ok(mutated >= SEEDS / 2, `only ${mutated} histories had a stale-read candidate`);
  });

  test('on small random histories (legal or not) the checker agrees with brute force', () => {
    const prng = new Prng(7);
    const counts = { ok: 0, illegal: 0 };
    for (let iter = 0; iter < 3000; iter++) {
      const n = 1 + prng.int(12);
      const pool = ['', 'null', 'a', 'b'].slice(0, 1 + prng.int(4));
      const ops: Operation[] = [];
      for (let i = 0; i < n; i++) {
        const call = prng.int(25);
        const ret = prng.chance(0.15) ? null : call + prng.int(8);
        const value = prng.pick(pool);
        ops.push(
          prng.chance(0.5)
            ? { client: i, op: 'put', key: 'k', value, call, return: ret }
            : {
                client: i,
                op: 'get',
                key: 'k',
                value: prng.chance(0.25) ? null : value,
                call,
                return: ret,
              },
        );
      }
      const want = referenceLinearizable(ops);
      const r = checkHistory({ operations: ops });
      counts[r.verdict === 'ok' ? 'ok' : 'illegal']++;
      assert.equal(r.verdict, want ? 'ok' : 'illegal', `iteration ${iter}: ${JSON.stringify(ops)}`);
    }
    assert.ok(counts.ok > 300 && counts.illegal > 300, JSON.stringify(counts));
  });

  test('on small simulated histories with random reads changed, the checker agrees with brute force', () => {
    const prng = new Prng(11);
    const counts = { ok: 0, illegal: 0 };
    for (let iter = 0; iter < 1500; iter++) {
      const h = simulateHistory({
        seed: prng.u32(),
        operations: 8 + prng.int(12),
        clients: 2 + prng.int(6),
        keys: 1,
        valuePool: prng.int(3),
        pendingRate: prng.pick([0, 0.1, 0.3]),
        sameTickRate: prng.pick([0, 0.5]),
      });
      const ops: Operation[] = [...h.operations];
      const written = [...new Set(ops.flatMap((o) => (o.op === 'put' ? [o.value] : []))), null];
      for (let k = prng.int(3); k > 0; k--) {
        const reads = ops.flatMap((o, i) => (o.op === 'get' ? [i] : []));
        if (reads.length === 0) break;
        const i = prng.pick(reads);
        ops[i] = { ...(ops[i] as GetOperation), value: prng.pick(written) };
      }
      const want = referenceLinearizable(ops);
      const r = checkHistory({ operations: ops });
      counts[r.verdict === 'ok' ? 'ok' : 'illegal']++;
      assert.equal(r.verdict, want ? 'ok' : 'illegal', `iteration ${iter}: ${JSON.stringify(ops)}`);
    }
    assert.ok(counts.ok > 300 && counts.illegal > 200, JSON.stringify(counts));
  });

  test('the search is deterministic: the same history gives the same steps and report', () => {
    const h = simulateHistory({ seed: 99, operations: 2000, clients: 8, keys: 1, valuePool: 2 });
    const bad = mutateNeverWritten(h, new Prng(5));
    assert.ok(bad !== undefined);
    const a = checkHistory(h);
    const b = checkHistory(h);
    assert.equal(a.steps, b.steps);
    assert.equal(formatReport(checkHistory(bad.history)), formatReport(checkHistory(bad.history)));
  });
});
