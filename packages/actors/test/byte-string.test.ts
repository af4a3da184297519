import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteStringOf, bytesOf, isByteString, utf8ByteString, utf8Text } from '../src/index.js';

const TEXTS = [
  '',
  'null',
  'plain ascii',
  'clé',
  'ключ',
  '値'.repeat(40),
  '🔑 and 🔒',
  '\0\x7f',
  '\x80\xff as text',
];

test('a text value is held as its UTF-8 bytes and read back unchanged', () => {
  for (const text of TEXTS) {
    const held = utf8ByteString(text);
    assert.ok(isByteString(held), JSON.stringify(text));
    assert.deepEqual(bytesOf(held), Buffer.from(text, 'utf8'), `bytes of ${JSON.stringify(text)}`);
    assert.equal(utf8Text(held), text);
  }
});

test('text that is not well-formed UTF-16 is held and read as TextEncoder and TextDecoder would', () => {
  for (const text of ['\ud800', 'a\udc00b', '\ud83d']) {
    const held = utf8ByteString(text);
    assert.deepEqual(bytesOf(held), Buffer.from(new TextEncoder().encode(text)));
    assert.equal(utf8Text(held), new TextDecoder().decode(new TextEncoder().encode(text)));
  }
  const invalid = String.fromCharCode(0x61, 0xc3, 0x28, 0xff);
  assert.equal(utf8Text(invalid), new TextDecoder().decode(bytesOf(invalid)));
});

test('bytes and byte strings convert both ways, every byte value, from a view at an offset', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const view = new Uint8Array(all.buffer, 3, 250);
  const held = byteStringOf(view);
  assert.equal(held.length, 250);
  for (let i = 0; i < 250; i++) assert.equal(held.charCodeAt(i), i + 3);
  assert.deepEqual(bytesOf(held), Buffer.from(view));
  assert.equal(byteStringOf(new Uint8Array(0)), '');
});

test('only strings of chars 0..255 are byte strings', () => {
  assert.ok(isByteString('\0\xff'));
  for (const v of ['\u0100', 'a\u20ac', '🔑', 5, null, new Uint8Array(1)])
    assert.equal(isByteString(v), false, String(v));
});
