import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BucketDigest } from '../src/digest/bucket-digest.js';
import {
  DigestAuthError,
  digestBytes,
  signDigest,
  verifyDigest,
  type DigestClaim,
} from '../src/digest/digest-auth.js';

const KEY = new TextEncoder().encode('cluster key: 32 bytes of secret!');
const OTHER_KEY = new TextEncoder().encode('cluster key: 32 bytes of secreT!');

function claim(): DigestClaim {
  const digest = new BucketDigest(64, 4);
  digest.update('k', undefined, { version: 3, cid: 1 });
  return {
    epoch: 7,
    replica: 3,
    incarnation: 2,
    root: digest.root(),
    vv: [{ origin: 1, seq: 10 }, { origin: 3, seq: 2 ** 33 }],
  };
}

function rejects(key: Uint8Array, d: DigestClaim, mac: string | undefined, message: RegExp): void {
  assert.throws(
    () => verifyDigest(key, d, mac),
    (e: unknown) => {
      assert.ok(e instanceof DigestAuthError);
      assert.ok(e instanceof Error);
      assert.equal(e.name, 'DigestAuthError');
      assert.equal(e.replica, d.replica);
      assert.equal(e.incarnation, d.incarnation);
      assert.match(e.message, message);
      return true;
    },
  );
}

const FAILED = /^digest from replica \d+ \(incarnation \d+\) failed MAC verification \(forged, altered, or signed with another key\)$/;

test('a digest signed with the cluster key is accepted', () => {
  const mac = signDigest(KEY, claim());
  assert.match(mac, /^[0-9a-f]{64}$/);
  assert.equal(signDigest(KEY, claim()), mac, 'deterministic');
  verifyDigest(KEY, claim(), mac);
});

test('a digest without a MAC is rejected when the cluster has a key', () => {
  rejects(KEY, claim(), undefined, /^digest from replica 3 \(incarnation 2\) has no MAC but the cluster has a key$/);
});

test('a digest with any field altered after signing is rejected', () => {
  const mac = signDigest(KEY, claim());
  const altered: DigestClaim[] = [
    { ...claim(), epoch: 8 },
    { ...claim(), replica: 4 },
    { ...claim(), incarnation: 3 },
    { ...claim(), root: new BucketDigest(64, 4).root() },
    { ...claim(), vv: [{ origin: 1, seq: 11 }, { origin: 3, seq: 2 ** 33 }] },
    { ...claim(), vv: [{ origin: 2, seq: 10 }, { origin: 3, seq: 2 ** 33 }] },
    { ...claim(), vv: [{ origin: 1, seq: 10 }] },
    { ...claim(), vv: [{ origin: 1, seq: 10 }, { origin: 3, seq: 2 ** 33 }, { origin: 4, seq: 1 }] },
  ];
  for (const d of altered) rejects(KEY, d, mac, FAILED);
});

test('a MAC made with another key, or forged, is rejected', () => {
  rejects(KEY, claim(), signDigest(OTHER_KEY, claim()), FAILED);
  const mac = signDigest(KEY, claim());
  const flipped = (mac[0] === '0' ? '1' : '0') + mac.slice(1);
  rejects(KEY, claim(), flipped, FAILED);
  rejects(KEY, claim(), mac.slice(2), /has a malformed MAC \(expected 64 lowercase hex characters\)$/);
  rejects(KEY, claim(), mac.toUpperCase(), /has a malformed MAC/);
});

test('a cluster without a key accepts any digest', () => {
  verifyDigest(undefined, claim(), undefined);
  verifyDigest(undefined, claim(), 'not a mac');
});

test('the encoding is canonical and covers every field', () => {
  assert.deepEqual(digestBytes(claim()), digestBytes(claim()));
  const seen = new Set<string>();
  const variants: DigestClaim[] = [
    claim(),
    { ...claim(), epoch: 2 ** 32 + 7 },
    { ...claim(), replica: 65535 },
    { ...claim(), incarnation: 2 ** 40 },
    { ...claim(), vv: [] },
    { ...claim(), vv: [{ origin: 1, seq: 10 }] },
    { ...claim(), vv: [{ origin: 10, seq: 1 }] },
  ];
  for (const d of variants) seen.add(Buffer.from(digestBytes(d)).toString('hex'));
  assert.equal(seen.size, variants.length);
});

test('bad fields and keys are rejected with errors naming them', () => {
  const bad: [DigestClaim, RegExp][] = [
    [{ ...claim(), epoch: -1 }, /epoch must be an integer/],
    [{ ...claim(), replica: 65536 }, /replica must be an integer in 0\.\.65535, got 65536/],
    [{ ...claim(), incarnation: 1.5 }, /incarnation must be an integer/],
    [{ ...claim(), root: 'abc' }, /root must be 16 lowercase hex characters, got "abc"/],
    [{ ...claim(), vv: [{ origin: 3, seq: 1 }, { origin: 1, seq: 1 }] }, /vv\[1\]\.origin 1 must exceed vv\[0\]\.origin 3/],
    [{ ...claim(), vv: [{ origin: 3, seq: 1 }, { origin: 3, seq: 2 }] }, /vv\[1\]\.origin 3 must exceed/],
    [{ ...claim(), vv: [{ origin: 1, seq: -2 }] }, /vv\[0\]\.seq must be an integer/],
  ];
  for (const [d, message] of bad) {
    assert.throws(() => digestBytes(d), (e: unknown) => e instanceof RangeError && message.test(e.message));
  }
  assert.throws(() => signDigest(new Uint8Array(0), claim()), /cluster key must not be empty/);
});
