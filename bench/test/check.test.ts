import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heal } from './run-heal.js';

const dir = mkdtempSync(join(tmpdir(), 'heal-check-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function historyFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const GOOD = historyFile(
  'good.json',
  JSON.stringify({
    operations: [
      { client: 0, op: 'put', key: 'k1', value: 'a', call: 0, return: 10 },
      { client: 1, op: 'get', key: 'k1', value: 'a', call: 5, return: 12 },
      { client: 2, op: 'put', key: 'k2', value: '', call: 0, return: null },
      { client: 1, op: 'get', key: 'k2', value: null, call: 13, return: 14 },
    ],
  }),
);

const STALE = historyFile(
  'stale.json',
  JSON.stringify({
    operations: [
      { client: 0, op: 'put', key: 'ok', value: 'x', call: 0, return: 1 },
      { client: 0, op: 'put', key: 'k1', value: 'a', call: 2, return: 10 },
      { client: 0, op: 'put', key: 'k1', value: 'b', call: 20, return: 30 },
      { client: 1, op: 'get', key: 'k1', value: 'a', call: 40, return: 50 },
    ],
  }),
);

test('heal check exits 0 on a linearizable history and says so', async () => {
  const run = await heal('check', GOOD);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /good\.json: linearizable: 4 operations on 2 keys/);
});

test('heal check exits 1 on a stale read and reports the key, its operations and the read', async () => {
  const run = await heal('check', STALE);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stdout, /NOT linearizable: 4 operations on 2 keys; 1 failing key/);
  assert.match(run.stdout, /key "k1" \(3 operations\), in call order:/);
  assert.match(run.stdout, /#0 +\[1\] +0 +put +"a" +2 +10/);
  assert.match(run.stdout, /#2 +\[3\] +1 +get +"a" +40 +50 <- cannot be placed/);
  assert.match(run.stdout, /cannot place #2 get "a": after the prefix the register holds "b"/);
});

test('heal check --json prints one document with the verdict and the failing key', async () => {
  const [good, bad] = await Promise.all([
    heal('check', '--json', GOOD),
    heal('check', STALE, '--json'),
  ]);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(bad.code, 1, bad.stderr);
  const doc = JSON.parse(good.stdout) as {
    command: string;
    machine: object;
    config: Record<string, unknown>;
    results: Record<string, unknown>[];
  };
  assert.deepEqual(Object.keys(doc).sort(), ['command', 'config', 'machine', 'results']);
  assert.equal(doc.command, 'check');
  assert.equal(doc.config['file'], GOOD);
  const [row] = doc.results;
  assert.ok(row !== undefined);
  assert.equal(row['ok'], true);
  assert.equal(row['keys'], 2);
  assert.equal(row['operations'], 4);
  assert.equal('failingKey' in row, false);
  assert.equal(typeof row['elapsedMs'], 'number');
  const badRow = (JSON.parse(bad.stdout) as { results: Record<string, unknown>[] }).results[0];
  assert.equal(badRow?.['ok'], false);
  assert.equal(badRow?.['failingKey'], 'k1');
  assert.equal(badRow?.['stuckOperation'], 3);
});

test('heal check exits 2 on an invalid file and names what is wrong and where', async () => {
  const cases: [string, string, RegExp][] = [
    [
      'syntax.json',
      '{"operations": [\n  {"client": 0 "op": "put"}]}',
      /syntax\.json: line 2, column 16: invalid JSON: expected ',' or '}' in object, found "\\""/,
    ],
    [
      'return.json',
      '{"operations": [{"client": 0, "op": "put", "key": "k", "value": "a", "call": 5, "return": 4}]}',
      /operations\[0\]\.return: must be an integer >= call \(5\) or null, got 4/,
    ],
    [
      'op.json',
      '{"operations": [{"client": 0, "op": "del", "key": "k", "value": "a", "call": 5, "return": 6}]}',
      /operations\[0\]\.op: must be "put" or "get", got "del"/,
    ],
    [
      'dup.json',
      '{"operations": [{"client": 0, "client": 1, "op": "put", "key": "k", "value": "a", "call": 5, "return": 6}]}',
      /duplicate field "client" in operations\[0\]/,
    ],
  ];
  const runs = await Promise.all(
    cases.map(([name, text]) => heal('check', historyFile(name, text))),
  );
  runs.forEach((run, i) => {
    const [name, , pattern] = cases[i] as [string, string, RegExp];
    assert.equal(run.code, 2, `${name}: ${run.stderr}`);
    assert.match(run.stderr, pattern, name);
    assert.equal(run.stdout, '', name);
  });
});

test('heal check exits 2 on a missing file or bad arguments', async () => {
  const [missing, none, two, flag] = await Promise.all([
    heal('check', join(dir, 'nope.json')),
    heal('check'),
    heal('check', GOOD, STALE),
    heal('check', GOOD, '--timeout-ms', 'soon'),
  ]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read .*nope\.json: ENOENT/);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /expected one history file, got 0 arguments/);
  assert.equal(two.code, 2);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /--timeout-ms must be an integer/);
});

test('heal check exits 3 when the step budget runs out before a verdict', async () => {
  const ops = [];
  for (let c = 0; c < 12; c++)
    ops.push({ client: c, op: 'put', key: 'k', value: `v${c}`, call: 0, return: 100 });
  ops.push({ client: 20, op: 'get', key: 'k', value: 'v0', call: 200, return: 201 });
  ops.push({ client: 20, op: 'get', key: 'k', value: 'v1', call: 202, return: 203 });
  const run = await heal(
    'check',
    historyFile('hard.json', JSON.stringify({ operations: ops })),
    '--max-steps',
    '1',
  );
  assert.equal(run.code, 3, run.stderr);
  assert.match(run.stdout, /unknown: .*budget ran out on 1 key/);
});

test('heal bench check writes check.json and check.md with the documented row fields', async () => {
  const out = join(dir, 'results');
  const run = await heal(
    'bench',
    'check',
    '--operations',
    '2000',
    '--clients',
    '4',
    '--keys',
    '10',
    '--repeats',
    '1',
    '--out',
    out,
    '--json',
  );
  assert.equal(run.code, 0, run.stderr);
  const doc = JSON.parse(run.stdout) as { command: string; results: Record<string, unknown>[] };
  assert.equal(doc.command, 'bench check');
  assert.equal(doc.results.length, 2);
  const [main, single] = doc.results;
  assert.deepEqual(
    [main?.['operations'], main?.['clients'], main?.['keys'], main?.['verdict']],
    [2000, 4, 10, 'ok'],
  );
  assert.equal(single?.['keys'], 1);
  assert.equal(typeof main?.['checkMs'], 'number');
  assert.match(run.stderr, /wrote .*check\.json and .*check\.md/);
});
