import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utf8ByteString } from '@heal/actors';
import { KEY_STATES, type KeyRecord, type KeyState } from '../../src/index.js';

/** A temporary directory under os.tmpdir(), removed by `cleanup`. */
export function tempDir(prefix: string): {
  dir: string;
  path: (name: string) => string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), `heal-kv-${prefix}-`));
  return {
    dir,
    path: (name) => join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A record whose every field depends on `n` (and the key), so mix-ups are visible. */
export function rec(
  key: string,
  n: number,
  state: KeyState = KEY_STATES[n % KEY_STATES.length] as KeyState,
): KeyRecord {
  return {
    key,
    ts: { version: n + 1, cid: n % 7 },
    // UTF-8 of the key, then bytes outside ASCII: media must keep every byte value.
    value: `${utf8ByteString(`${key}=${n}:`)}${'x'.repeat(n % 13)}${String.fromCharCode(n & 0xff, 0xff - (n & 0xff), 0)}`,
    state,
    origin: n % 5,
    seq: 1000 + n,
  };
}

/** Records in a comparable form: sorted by key, plain objects. */
function canonical(records: Iterable<KeyRecord>): unknown[] {
  return [...records]
    .map((r) => ({
      key: r.key,
      ts: { version: r.ts.version, cid: r.ts.cid },
      value: r.value,
      state: r.state,
      origin: r.origin,
      seq: r.seq,
    }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function assertSameRecords(
  actual: Iterable<KeyRecord>,
  expected: Iterable<KeyRecord>,
  message?: string,
): void {
  assert.deepStrictEqual(canonical(actual), canonical(expected), message);
}
