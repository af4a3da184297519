/**
 * A real process crash: a child persists records and acknowledges each on stdout; the parent
 * kills it with SIGKILL once enough are acknowledged, reopens the file, and finds every
 * acknowledged record intact. No sleeps: the kill is triggered by the acknowledgements.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { LATENCY_OFF, PLog, PmemRegion, PTable } from '../src/index.js';
import { CHILD_KEYS } from './fixtures/sigkill-protocol.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('sigkill');
after(() => tmp.cleanup());
const CHILD = fileURLToPath(new URL('./fixtures/sigkill-child.js', import.meta.url));
/** Acknowledgements to wait for before the kill. */
const ACKS_BEFORE_KILL = 3000;

/** Runs the child until ACKS_BEFORE_KILL acks, kills it; resolves with the acked indices. */
function runAndKill(
  path: string,
  kind: 'ptable' | 'plog',
): Promise<{ acked: number[]; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, path, kind], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acked: number[] = [];
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) acked.push(Number(line));
      if (acked.length >= ACKS_BEFORE_KILL && child.exitCode === null) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ acked, signal }));
  });
}

test('PTable: after SIGKILL every acknowledged put is found, intact', async () => {
  const path = tmp.file('table');
  const layout = { capacity: CHILD_KEYS, keyMaxBytes: 8, valueMaxBytes: 32 };
  const region = PmemRegion.create(path, PTable.bytesFor(layout), { latency: LATENCY_OFF });
  PTable.format(region, layout);
  region.close();
  const { acked, signal } = await runAndKill(path, 'ptable');
  assert.equal(signal, 'SIGKILL', 'the child was killed, not finished');
  assert.ok(acked.length >= ACKS_BEFORE_KILL);
  acked.forEach((v, i) => assert.equal(v, i, 'acks arrive in order'));
  const table = PTable.open(PmemRegion.open(path, { latency: LATENCY_OFF }));
  assert.deepEqual(table.recovery.corrupt, []);
  for (let k = 0; k < CHILD_KEYS; k++) {
    const lastAcked =
      acked.length - 1 - ((((acked.length - 1 - k) % CHILD_KEYS) + CHILD_KEYS) % CHILD_KEYS);
    const got = table.get(`k${k}`);
    assert.ok(got !== undefined, `k${k} is present`);
    assert.ok(
      got.ts.version >= lastAcked,
      `k${k}: version ${got.ts.version} older than acknowledged ${lastAcked}`,
    );
    assert.equal(got.ts.version % CHILD_KEYS, k);
    assert.equal(Buffer.from(got.value).toString(), `value-${got.ts.version}`);
  }
});

test('PLog: after SIGKILL every acknowledged append is found, in order', async () => {
  const path = tmp.file('log');
  const region = PmemRegion.create(path, 4 << 20, { latency: LATENCY_OFF });
  PLog.format(region, { maxRecordBytes: 64 });
  region.close();
  const { acked, signal } = await runAndKill(path, 'plog');
  assert.equal(signal, 'SIGKILL');
  const log = PLog.open(PmemRegion.open(path, { latency: LATENCY_OFF }));
  const records = [...log.entries()].map((e) => e.payload.toString());
  assert.ok(
    records.length >= acked.length,
    `${records.length} records, ${acked.length} acknowledged`,
  );
  records.forEach((r, i) => assert.equal(r, `record-${i}`));
});
