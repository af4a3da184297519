import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { CrashableStorage } from '@heal/actors';
import { Prng } from '@heal/base';
import { LATENCY_OFF, SimulatedCrash } from '@heal/pmem';
import {
  MemoryStorage,
  PmemStorage,
  VersionVector,
  WalStorage,
  type KvStorage,
} from '../../src/index.js';
import { rec, tempDir } from './helpers.js';

/**
 * The version vector lives on the medium (ARCHITECTURE.md §5): a sync persists it after the
 * records it covers, so a crash keeps the vector of the last completed sync that carried one,
 * never one newer than the records.
 */
const tmp = tempDir('vv');
after(() => tmp.cleanup());
let n = 0;

type Durable = KvStorage & CrashableStorage;
const MEDIA: Record<string, () => Durable> = {
  'memory-durable': () => Object.assign(new MemoryStorage(true), { crash: () => undefined }),
  wal: () => new WalStorage(tmp.path(`w${n++}`), { checkpointLogRecords: 8 }),
  pmem: () =>
    new PmemStorage(tmp.path(`p${n++}.pmem`), {
      layout: { capacity: 64 },
      region: { latency: LATENCY_OFF },
    }),
};

function vvOf(...writes: [number, number][]): Uint8Array {
  const vv = new VersionVector();
  for (const [origin, seq] of writes) vv.add(origin, seq);
  return vv.encode();
}

const decoded = (bytes: Uint8Array | undefined) =>
  bytes ? VersionVector.decode(bytes).intervals() : undefined;

for (const [medium, open] of Object.entries(MEDIA)) {
  test(`${medium}: the version vector of the last sync that carried one survives a crash`, () => {
    const s = open();
    assert.equal(s.loadVersionVector(), undefined, 'none before the first');
    s.write(rec('a', 1));
    const first = vvOf([1, 1], [1, 2], [3, 7]);
    s.sync(first);
    s.crash(1);
    assert.deepEqual(decoded(s.loadVersionVector()), decoded(first));
    s.write(rec('b', 2));
    s.sync();
    s.crash(2);
    assert.deepEqual(
      decoded(s.loadVersionVector()),
      decoded(first),
      'a sync without a vector keeps the last one',
    );
    for (let i = 0; i < 20; i++) s.write(rec(`k${i}`, i));
    const second = vvOf([1, 1], [1, 2], [1, 3], [3, 7], [4, 2 ** 33]);
    s.sync(second);
    s.crash(3);
    assert.deepEqual(
      decoded(s.loadVersionVector()),
      decoded(second),
      'through a checkpoint too (wal)',
    );
    s.close();
  });
}

test('volatile: nothing is kept, the vector neither', () => {
  const s = new MemoryStorage(false);
  s.sync(vvOf([1, 1]));
  assert.equal(s.loadVersionVector(), undefined);
});

test('pmem: a crash inside a sync never keeps its vector without its records', () => {
  let struck = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const random = new Prng(seed);
    const s = new PmemStorage(tmp.path(`c${n++}.pmem`), {
      layout: { capacity: 64 },
      region: { latency: LATENCY_OFF },
    });
    s.write(rec('a', 0, 'valid'));
    s.sync(vvOf([1, 1]));
    const keys = Array.from({ length: 2 + random.int(6) }, (_, i) => `k${i}`);
    for (const [i, key] of keys.entries()) s.write(rec(key, i + 1, 'valid'));
    s.region.armCrash({
      mode: 'adversarial',
      seed: random.u32(),
      beforeEvent: random.int(5 * keys.length + 3),
    });
    try {
      s.sync(vvOf([1, 1], [1, 2]));
    } catch (err) {
      assert.ok(err instanceof SimulatedCrash, String(err));
      struck++;
    }
    s.crash(random.u32());
    const kept = new Set([...s.records()].map((r) => r.key));
    const vv = decoded(s.loadVersionVector());
    if (vv?.some((iv) => iv.to === 2)) {
      for (const key of keys)
        assert.ok(kept.has(key), `seed=${seed}: the new vector survived without ${key}`);
    } else {
      assert.deepEqual(vv, decoded(vvOf([1, 1])), `seed=${seed}: the previous vector`);
    }
    s.close();
  }
  assert.ok(struck > 20, `crashes struck inside the sync (${struck})`);
});
