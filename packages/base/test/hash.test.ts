import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fmix32, fnv1a32, Fnv1a64, FNV1A_32_OFFSET, fnv1aStep, murmur3Step } from '../src/index.js';

/** 64-bit FNV-1a over the same units with BigInt: the definition the halves must follow. */
function fnv1a64Reference(units: readonly number[]): string {
  let h = 0xcbf29ce484222325n;
  for (const u of units) h = ((h ^ BigInt(u)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

test('fnv1a32 matches the published FNV-1a test vectors and stays int32', () => {
  assert.equal(fnv1a32('') >>> 0, 0x811c9dc5);
  assert.equal(fnv1a32('a') >>> 0, 0xe40c292c);
  assert.equal(fnv1a32('foobar') >>> 0, 0xbf9cf968);
  for (const text of ['', 'a', 'foobar', 'k12345', '\u{1f511}'])
    assert.equal(fnv1a32(text), fnv1a32(text) | 0);
  assert.equal(fnv1aStep(FNV1A_32_OFFSET, 97), fnv1a32('a'));
});

test('murmur3Step and fmix32 give MurmurHash3_x86_32 of a 4-byte word', () => {
  // MurmurHash3_x86_32 of one little-endian word: a body step, the length, the finaliser.
  const murmur = (word: number, seed: number): number => fmix32(murmur3Step(seed, word) ^ 4) >>> 0;
  assert.equal(murmur(0, 0), 0x2362f9de);
  assert.equal(murmur(0x64636261, 0), 0x43ed676a); // "abcd"
  assert.equal(fmix32(0), 0);
  assert.equal(fmix32(0x7fffffff), fmix32(0x7fffffff) | 0, 'int32 out');
});

test('Fnv1a64 equals 64-bit FNV-1a computed with BigInt, also when the low half has its top bit set', () => {
  assert.equal(new Fnv1a64().hex(), 'cbf29ce484222325');
  const a = new Fnv1a64();
  a.addString('a');
  assert.equal(a.hex(), 'af63dc4c8601ec8c');
  let seed = 1;
  for (let run = 0; run < 200; run++) {
    const units: number[] = [];
    const h = new Fnv1a64();
    for (let i = 0; i < run % 40; i++) {
      seed = fmix32(seed + 0x9e3779b9);
      const unit = seed & 0xffff;
      units.push(unit);
      h.add(unit);
    }
    assert.equal(h.hex(), fnv1a64Reference(units), `units ${units.join(',')}`);
  }
});
