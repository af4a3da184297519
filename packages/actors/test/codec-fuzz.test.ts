import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '@heal/base';
import { CodecError } from '../src/index.js';
import { testCodec, type TestMessage } from './fixtures/test-messages.js';

const ITERATIONS = 200_000;

function randomMessage(prng: Prng): TestMessage {
  const randomString = (): string =>
    Array.from({ length: prng.int(6) }, () =>
      String.fromCodePoint(prng.chance(0.2) ? 0x1f511 : 97 + prng.int(26)),
    ).join('');
  switch (prng.int(3)) {
    case 0:
      return {
        kind: 'put',
        epoch: prng.u32(),
        sender: prng.int(65536),
        key: randomString(),
        version: prng.u32(),
        cid: prng.int(65536),
        value: String.fromCharCode(...Array.from({ length: prng.int(40) }, () => prng.int(256))),
        seq: prng.int(2 ** 31) * 1024,
        state: prng.pick(['valid', 'invalid', 'write', 'replay'] as const),
      };
    case 1:
      return {
        kind: 'batch',
        epoch: prng.u32(),
        sender: prng.int(65536),
        entries: Array.from({ length: prng.int(4) }, () => ({
          key: randomString(),
          ts: prng.int(2 ** 30),
          durable: prng.chance(0.5),
        })),
        weight: prng.range(-1e6, 1e6),
        delta: prng.int(2 ** 32) - 2 ** 31,
        flag: prng.int(256),
      };
    default:
      return { kind: 'ping', epoch: prng.u32(), sender: prng.int(65536) };
  }
}

/** Decodes, allowing only CodecError; a success must re-encode to exactly the same bytes. */
function decodeOrReject(bytes: Uint8Array): 'ok' | 'rejected' {
  let msg: TestMessage;
  try {
    msg = testCodec.decode(bytes);
  } catch (err) {
    if (err instanceof CodecError) return 'rejected';
    throw err;
  }
  // Anything returned is a whole, valid message: it re-encodes, byte for byte.
  assert.deepEqual(testCodec.encode(msg), bytes, 'a decoded message must re-encode to its bytes');
  return 'ok';
}

test('decode of random, truncated and mutated bytes throws only CodecError and never returns a partial message', () => {
  const prng = new Prng(20261125);
  const outcomes = { ok: 0, rejected: 0 };
  for (let i = 0; i < ITERATIONS; i++) {
    const valid = testCodec.encode(randomMessage(prng));
    let bytes: Uint8Array;
    switch (prng.int(4)) {
      case 0: // pure noise
        bytes = Uint8Array.from({ length: prng.int(64) }, () => prng.int(256));
        break;
      case 1: // truncated
        bytes = valid.slice(0, prng.int(valid.length));
        break;
      case 2: {
        // a few bytes flipped
        bytes = valid.slice();
        for (let k = 0, n = 1 + prng.int(3); k < n && bytes.length > 0; k++)
          bytes[prng.int(bytes.length)] = prng.int(256);
        break;
      }
      default: // intact
        bytes = valid;
    }
    outcomes[decodeOrReject(bytes)]++;
  }
  assert.ok(outcomes.ok > ITERATIONS / 5, `some inputs decode (${outcomes.ok})`);
  assert.ok(outcomes.rejected > ITERATIONS / 5, `many inputs are rejected (${outcomes.rejected})`);
});

test('every strict prefix of a valid record is rejected', () => {
  const prng = new Prng(7);
  for (let i = 0; i < 2000; i++) {
    const bytes = testCodec.encode(randomMessage(prng));
    for (let cut = 0; cut < bytes.length; cut++) {
      assert.throws(() => testCodec.decode(bytes.subarray(0, cut)), CodecError);
    }
  }
});
