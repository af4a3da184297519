import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '@heal/base';
import { crc32c, crc32cUpdate } from '../src/index.js';

function crc32cBitwise(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

test('crc32c matches the published check value for "123456789"', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
});

test('slicing-by-8 crc32c equals the bitwise definition at every length and alignment', () => {
  const random = new Prng(7);
  const bytes = new Uint8Array(300).map(() => random.int(256));
  for (let off = 0; off < 9; off++) {
    for (let len = 0; len + off <= 140; len++) {
      assert.equal(
        crc32c(bytes, off, len),
        crc32cBitwise(bytes.subarray(off, off + len)),
        `off=${off} len=${len}`,
      );
    }
  }
});

test('crc32cUpdate over pieces equals crc32c over the whole', () => {
  const bytes = Buffer.from('the quick brown fox jumps over the lazy dog, twice over');
  for (let cut = 0; cut <= bytes.length; cut++) {
    assert.equal(
      crc32cUpdate(crc32cUpdate(0, bytes, 0, cut), bytes, cut, bytes.length - cut),
      crc32c(bytes),
    );
  }
});
