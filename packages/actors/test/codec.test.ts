import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, defineMessage, fields, HEADER_BYTES } from '../src/index.js';
import { testCodec, type Batch, type Put } from './fixtures/test-messages.js';

const put: Put = {
  kind: 'put',
  epoch: 7,
  sender: 3,
  key: 'clé-🔑',
  version: 0xffffffff,
  cid: 65535,
  value: '\0\x01\x02\xff',
  seq: Number.MAX_SAFE_INTEGER,
  state: 'replay',
};
const batch: Batch = {
  kind: 'batch',
  epoch: 0,
  sender: 0,
  entries: [
    { key: '', ts: 0, durable: true },
    { key: 'k', ts: 2 ** 40 + 5, durable: false },
  ],
  weight: -1.5e-300,
  delta: -2147483648,
  flag: 200,
};

test('every field kind round-trips through encode and decode', () => {
  for (const msg of [put, batch, { kind: 'ping', epoch: 1, sender: 2 } as const]) {
    const bytes = testCodec.encode(msg);
    assert.equal(bytes.byteLength, testCodec.sizeOf(msg));
    assert.deepEqual(testCodec.decode(bytes), msg);
  }
});

test('strings are UTF-8 on the wire whether short ASCII (copied in JS) or not', () => {
  const ascii64 = 'a'.repeat(64);
  for (const key of [
    '',
    'k12345',
    ascii64,
    `${ascii64}b`,
    'x'.repeat(63) + 'é',
    '\u007f\u0080',
    'clé-🔑',
  ]) {
    const msg: Put = { ...put, key };
    const bytes = testCodec.encode(msg);
    const utf8 = Buffer.from(key, 'utf8');
    assert.equal(bytes.byteLength, testCodec.sizeOf(msg), `size of ${JSON.stringify(key)}`);
    const at = HEADER_BYTES;
    assert.equal(
      new DataView(bytes.buffer).getUint32(at, true),
      utf8.byteLength,
      `length of ${JSON.stringify(key)}`,
    );
    assert.deepEqual(
      Buffer.from(bytes.subarray(at + 4, at + 4 + utf8.byteLength)),
      utf8,
      `bytes of ${JSON.stringify(key)}`,
    );
    assert.equal(
      testCodec.decode(bytes).kind === 'put' && (testCodec.decode(bytes) as Put).key,
      key,
    );
  }
});

test('ASCII strings of every length up to and past the short decoding path decode to themselves, at an offset', () => {
  for (let n = 0; n <= 12; n++) {
    const key = Array.from({ length: n }, (_, i) =>
      String.fromCharCode(0x21 + ((n * 7 + i * 13) % 94)),
    ).join('');
    const msg: Put = { ...put, key };
    const size = testCodec.sizeOf(msg);
    const buffer = new Uint8Array(size + 9).fill(0x7a);
    testCodec.encodeInto(msg, buffer, 5, size);
    assert.equal((testCodec.decode(buffer, 5, size) as Put).key, key, `key of ${n} chars`);
  }
});

test('encodeInto writes at an offset and decode reads the same range', () => {
  const size = testCodec.sizeOf(put);
  const buffer = new Uint8Array(size + 100);
  testCodec.encodeInto(put, buffer, 37, size);
  assert.deepEqual(testCodec.decode(buffer, 37, size), put);
});

test('byte-string values keep every byte value, at every length around the short decoding path, and do not alias the source', () => {
  for (const length of [0, 1, 7, 8, 9, 64, 65, 256, 4096]) {
    const value = String.fromCharCode(...Array.from({ length }, (_, i) => (i * 7 + 0xf9) & 0xff));
    const msg: Put = { ...put, value };
    const size = testCodec.sizeOf(msg);
    const source = new Uint8Array(size + 11);
    testCodec.encodeInto(msg, source, 11, size);
    // The wire holds the bytes themselves (u32 length, then one byte per char), not UTF-8.
    const wire = Buffer.from(source.buffer, 11, size);
    const at = wire.indexOf(Buffer.from('clé-🔑')) + Buffer.byteLength('clé-🔑') + 4 + 2;
    assert.equal(wire.readUInt32LE(at), length, `length of ${length} bytes`);
    assert.deepEqual(
      [...wire.subarray(at + 4, at + 4 + length)],
      [...value].map((c) => c.charCodeAt(0)),
    );
    const decoded = testCodec.decode(source, 11, size) as Put;
    source.fill(0);
    assert.equal(decoded.value, value, `value of ${length} bytes`);
  }
});

test('encoding a value with a char above 255 fails, naming the field', () => {
  for (const value of ['\u0100', 'ok\u20ac', '🔑']) {
    assert.match(
      codecError(() => testCodec.encode({ ...put, value })).message,
      /encode: put\.value: must be a string of chars 0\.\.255/,
    );
  }
});

function codecError(fn: () => unknown): CodecError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CodecError, `expected CodecError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a CodecError');
}

test('decode names the field that is wrong', () => {
  const bytes = testCodec.encode(put);
  // Unknown type.
  const badType = bytes.slice();
  badType[0] = 99;
  assert.match(
    codecError(() => testCodec.decode(badType)).message,
    /header\.type: unknown message type 99/,
  );
  // Declared length disagrees with the framing.
  assert.match(
    codecError(() => testCodec.decode(bytes, 0, bytes.length - 1)).message,
    /put: header\.length/,
  );
  // Enum index out of range: state is the last byte.
  const badEnum = bytes.slice();
  badEnum[badEnum.length - 1] = 9;
  assert.match(codecError(() => testCodec.decode(badEnum)).field, /^put\.state$/);
  // String length pointing past the end.
  const badLen = bytes.slice();
  new DataView(badLen.buffer).setUint32(HEADER_BYTES, 1000, true);
  assert.equal(codecError(() => testCodec.decode(badLen)).field, 'put.key');
  // Invalid UTF-8 in the key.
  const badUtf8 = bytes.slice();
  badUtf8[HEADER_BYTES + 4] = 0xff;
  assert.match(
    codecError(() => testCodec.decode(badUtf8)).message,
    /put\.key: string is not valid UTF-8/,
  );
});

test('a record with bytes after its last field is rejected', () => {
  const bytes = testCodec.encode({ kind: 'ping', epoch: 1, sender: 1 });
  const longer = new Uint8Array(bytes.length + 2);
  longer.set(bytes);
  new DataView(longer.buffer).setUint32(2, longer.length, true);
  assert.match(codecError(() => testCodec.decode(longer)).message, /ping: trailer: 2 bytes left/);
});

test('list counts and booleans are validated', () => {
  const bytes = testCodec.encode(batch);
  const badBool = bytes.slice();
  // entries[0] = key '' (4 bytes) + ts (8) + durable (1): the bool is at header + 4 + 4 + 8.
  badBool[HEADER_BYTES + 4 + 4 + 8] = 2;
  assert.equal(codecError(() => testCodec.decode(badBool)).field, 'batch.entries[0].durable');
  const hugeCount = bytes.slice();
  new DataView(hugeCount.buffer).setUint32(HEADER_BYTES, 0xffffffff, true);
  assert.match(
    codecError(() => testCodec.decode(hugeCount)).message,
    /item count 4294967295 exceeds/,
  );
});

test('encode rejects out-of-range and mistyped fields with the field name', () => {
  assert.match(
    codecError(() => testCodec.encode({ ...put, cid: 70000 })).message,
    /put\.cid: must be an integer in \[0, 65535\]/,
  );
  assert.match(codecError(() => testCodec.encode({ ...put, seq: -1 })).message, /put\.seq/);
  assert.match(codecError(() => testCodec.encode({ ...put, epoch: 1.5 })).message, /header\.epoch/);
  assert.match(
    codecError(() => testCodec.encode({ ...put, state: 'bogus' as Put['state'] })).message,
    /put\.state: must be one of/,
  );
  assert.match(
    codecError(() => testCodec.encode({ ...put, key: 5 as unknown as string })).message,
    /put\.key: must be a string/,
  );
  assert.match(
    codecError(() => testCodec.encode({ kind: 'nope', epoch: 0, sender: 0 } as unknown as Put))
      .message,
    /unknown message kind/,
  );
});

test('a message definition may not name a field kind, epoch, sender or __proto__', () => {
  for (const name of ['kind', 'epoch', 'sender', '__proto__']) {
    assert.throws(
      () => defineMessage(99, 'bad', JSON.parse(`{"${name}": 0}`) as Record<string, never>),
      /reserved/,
      name,
    );
  }
});

test('an invalid field of a list item is named with its index, whichever field of the item it is', () => {
  const withEntries = (entries: unknown[]): Batch => ({ ...batch, entries }) as Batch;
  const good = { key: 'k', ts: 1, durable: true };
  assert.equal(
    codecError(() => testCodec.encode(withEntries([good, { ...good, ts: -1 }]))).field,
    'batch.entries[1].ts',
  );
  assert.equal(
    codecError(() => testCodec.encode(withEntries([good, good, { ...good, key: 5 }]))).field,
    'batch.entries[2].key',
  );
  assert.equal(
    codecError(() => testCodec.encode(withEntries([{ ...good, durable: 'yes' }]))).field,
    'batch.entries[0].durable',
  );
  const notObject = codecError(() => testCodec.encode(withEntries([good, null])));
  assert.equal(notObject.field, 'batch.entries[1]');
  assert.match(notObject.message, /must be an object/);
  assert.throws(
    () => fields.struct({ ['__proto__']: fields.u8() }),
    /field name '__proto__' is reserved/,
  );
  const decoded = testCodec.decode(
    testCodec.encode(withEntries([good, { key: 'é', ts: 2 ** 53 - 1, durable: false }])),
  );
  assert.deepEqual((decoded as Batch).entries, [
    good,
    { key: 'é', ts: 2 ** 53 - 1, durable: false },
  ]);
});
