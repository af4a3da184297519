import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The example starts real worker threads on a shared machine: generous, but a hang fails. */
const EXAMPLE_TIMEOUT_MS = 120_000;
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE = fileURLToPath(
  new URL('../../../examples/dist/embed-heal/main.js', import.meta.url),
);

test(
  'examples/embed-heal runs from the package names, recovers a crashed replica with HEAL and says so',
  { timeout: EXAMPLE_TIMEOUT_MS + 10_000 },
  async () => {
    assert.ok(existsSync(EXAMPLE), `${EXAMPLE} is missing: build with \`npx tsc -b\` at the root`);
    let stdout: string;
    let stderr: string;
    try {
      ({ stdout, stderr } = await promisify(execFile)(process.execPath, [EXAMPLE], {
        cwd: ROOT,
        timeout: EXAMPLE_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 1 << 20,
      }));
    } catch (err) {
      const e = err as { code?: unknown; signal?: unknown; stdout?: string; stderr?: string };
      assert.fail(
        `the example failed (exit ${String(e.code)}, signal ${String(e.signal)}):\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
      );
    }
    const out = `${stdout}\n--- stderr ---\n${stderr}`;
    const line = (re: RegExp): RegExpMatchArray => {
      const m = stdout.match(re);
      assert.ok(m, `no line matching ${re} in the example's output:\n${out}`);
      return m;
    };
    assert.equal(stderr, '', `nothing on stderr:\n${out}`);
    line(/^read those 50 keys from replica 1: 50\/50 match \(replica 1 served 50\)$/m);
    line(/^crashed replica 2 /m);
    line(/^recovery report of replica 2 \(strategy heal, /m);
    const latency = Number(line(/^ {2}recovery latency +([\d.]+) ms/m)[1]);
    assert.ok(latency > 0, `recovery latency ${latency}`);
    const phases = line(/^ {2}phases +(.*)$/m)[1] ?? '';
    for (const phase of ['load', 'join', 'startToAck', 'replay', 'finalize']) {
      assert.match(
        phases,
        new RegExp(`\\b${phase} [\\d.]+ ms`),
        `phase ${phase} in the report:\n${out}`,
      );
    }
    const bytesMoved = Number(line(/^ {2}bytes moved +([\d,]+) B$/m)[1]?.replaceAll(',', ''));
    assert.ok(bytesMoved > 0, `bytes moved ${bytesMoved}`);
    const applied = Number(
      line(/^ {2}entries +[\d,]+ received, ([\d,]+) applied$/m)[1]?.replaceAll(',', ''),
    );
    assert.ok(
      applied >= 20 && applied < 1000,
      `applied ${applied}: the 20 writes it missed, not the whole store`,
    );
    // Both are HEAL: the Buddy's buffer when it covers the outage (the usual case here), else a Merkle descent.
    line(/^ {2}counts +.*\b(bufferSessions|descentSessions) 1\b/m);
    line(
      /^ {2}missed writes +(selected from the Buddy's Missed-updates buffer|found by Merkle descent)/m,
    );
    line(/^read the 20 writes it missed from replica 2: 20\/20 match \(replica 2 served 20\)$/m);
    line(
      /^read the 30 writes its medium kept from replica 2: 30\/30 match \(replica 2 served 30\)$/m,
    );
    line(/^read dataset key k999 from replica 2: 32 B, ok$/m);
    line(/^OK: replica 2 recovered with HEAL/m);
    const dataDir = line(/^data dir: (.+)$/m)[1] ?? '';
    assert.ok(
      dataDir.length > 0 && !existsSync(dataDir),
      `the example removed its data dir ${dataDir}`,
    );
  },
);
