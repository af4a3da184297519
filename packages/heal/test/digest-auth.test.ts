import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BucketDigest } from '@heal/kv';
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
    session: 0x0203_0001,
    kept: true,
    root: digest.root(),
    vv: [
      { origin: 1, from: 1, to: 10 },
      { origin: 3, from: 5, to: 2 ** 33 },
    ],
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

const FAILED =
  /^digest from replica \d+ \(incarnation \d+\) failed MAC verification \(forged, altered, or signed with another key\)$/;

test('a digest signed with the cluster key is accepted', () => {
  const mac = signDigest(KEY, claim());
  assert.match(mac, /^[0-9a-f]{64}$/);
  assert.equal(signDigest(KEY, claim()), mac, 'deterministic');
  verifyDigest(KEY, claim(), mac);
});

test('a digest without a MAC is rejected when the cluster has a key', () => {
  rejects(
    KEY,
    claim(),
    undefined,
    /^digest from replica 3 \(incarnation 2\) has no MAC but the cluster has a key$/,
  );
});

test('a digest with any field altered after signing is rejected', () => {
  const mac = signDigest(KEY, claim());
  const altered: DigestClaim[] = [
    { ...claim(), epoch: 8 },
    { ...claim(), replica: 4 },
    { ...claim(), incarnation: 3 },
    { ...claim(), session: 0x0203_0002 },
    { ...claim(), kept: false },
    { ...claim(), root: new BucketDigest(64, 4).root() },
    {
      ...claim(),
      vv: [
        { origin: 1, from: 1, to: 11 },
        { origin: 3, from: 5, to: 2 ** 33 },
      ],
    },
    {
      ...claim(),
      vv: [
        { origin: 1, from: 2, to: 10 },
        { origin: 3, from: 5, to: 2 ** 33 },
      ],
    },
    {
      ...claim(),
      vv: [
        { origin: 2, from: 1, to: 10 },
        { origin: 3, from: 5, to: 2 ** 33 },
      ],
    },
    { ...claim(), vv: [{ origin: 1, from: 1, to: 10 }] },
    {
      ...claim(),
      vv: [
        { origin: 1, from: 1, to: 10 },
        { origin: 3, from: 5, to: 2 ** 33 },
        { origin: 4, from: 1, to: 1 },
      ],
    },
  ];
  for (const d of altered) rejects(KEY, d, mac, FAILED);
});

test('a MAC made with another key, or forged, is rejected', () => {
  rejects(KEY, claim(), signDigest(OTHER_KEY, claim()), FAILED);
  const mac = signDigest(KEY, claim());
  const flipped = (mac[0] === '0' ? '1' : '0') + mac.slice(1);
  rejects(KEY, claim(), flipped, FAILED);
  rejects(
    KEY,
    claim(),
    mac.slice(2),
    /has a malformed MAC \(expected 64 lowercase hex characters\)$/,
  );
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
    { ...claim(), session: 1 },
    { ...claim(), kept: false },
    { ...claim(), vv: [] },
    { ...claim(), vv: [{ origin: 1, from: 1, to: 10 }] },
    { ...claim(), vv: [{ origin: 10, from: 1, to: 1 }] },
    {
      ...claim(),
      vv: [
        { origin: 1, from: 1, to: 9 },
        { origin: 1, from: 11, to: 11 },
      ],
    },
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
    [{ ...claim(), session: 2 ** 32 }, /session must be an integer in 0\.\.4294967295/],
    [
      {
        ...claim(),
        vv: [
          { origin: 3, from: 1, to: 1 },
          { origin: 1, from: 1, to: 1 },
        ],
      },
      /interval 1 .*must come after interval 0/,
    ],
    [
      {
        ...claim(),
        vv: [
          { origin: 3, from: 1, to: 4 },
          { origin: 3, from: 5, to: 6 },
        ],
      },
      /interval 1 .*disjoint and not adjacent/,
    ],
    [
      { ...claim(), vv: [{ origin: 1, from: 0, to: 2 }] },
      /interval 0 .*from must be a safe integer >= 1/,
    ],
    [
      { ...claim(), vv: [{ origin: 1, from: 3, to: 2 }] },
      /interval 0 .*to must be a safe integer >= from/,
    ],
  ];
  for (const [d, message] of bad) {
    assert.throws(
      () => digestBytes(d),
      (e: unknown) => e instanceof RangeError && message.test(e.message),
    );
  }
  assert.throws(() => signDigest(new Uint8Array(0), claim()), /cluster key must not be empty/);
});

test('a MAC with anything before or after its 64 hex characters is malformed', () => {
  const mac = signDigest(KEY, claim());
  for (const padded of [`${mac}x`, `${mac}00`, `x${mac}`, `00${mac}`, ` ${mac}`]) {
    rejects(KEY, claim(), padded, /has a malformed MAC/);
  }
});

test('zero is a valid value of every numeric field', () => {
  const zero: DigestClaim = { ...claim(), epoch: 0, replica: 0, incarnation: 0, session: 0 };
  verifyDigest(KEY, zero, signDigest(KEY, zero));
});

test('a kept flag that is not a boolean is rejected', () => {
  for (const kept of [1, 0, 'true', undefined]) {
    assert.throws(
      () => digestBytes({ ...claim(), kept: kept as unknown as boolean }),
      (e: unknown) => e instanceof RangeError && /^kept must be a boolean, got /.test(e.message),
    );
  }
});

test('the encoding is the domain tag then big-endian fields at fixed offsets', () => {
  // Replicas of different builds must agree on these bytes, or no MAC verifies across them.
  const d: DigestClaim = { ...claim(), epoch: 2 ** 32 + 7, incarnation: 2 ** 40 + 2 };
  const expected = [
    Buffer.from('heal-digest-v2').toString('hex'),
    '0000000100000007', // epoch
    '00000003', // replica
    '0000010000000002', // incarnation
    '02030001', // session
    '01', // kept
    d.root,
    '00000002', // vv length
    '00000001' + '0000000000000001' + '000000000000000a', // origin 1, 1..10
    '00000003' + '0000000000000005' + '0000000200000000', // origin 3, 5..2^33
  ].join('');
  assert.equal(Buffer.from(digestBytes(d)).toString('hex'), expected);
});
