import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command, OptionTable } from '../cli/command.js';
import { formatNumber, markdownTable, publishReport } from '../report/document.js';
import { outputOptions } from '../report/results-dir.js';
import {
  fdatasyncCase,
  FULL,
  PERSIST_BYTES,
  persistCase,
  plogCase,
  ptableCases,
  QUICK,
  VALUE_BYTES,
  type PmemBenchRow,
  type Timing,
} from '../pmem/cases.js';

/** statfs f_type magic numbers of the file systems we expect for temporary files. */
const FS_NAMES: Record<number, string> = {
  0xef53: 'ext4',
  0x01021994: 'tmpfs',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlayfs',
};

function fsName(dir: string): string {
  const type = statfsSync(dir).type;
  return FS_NAMES[type] ?? `statfs type 0x${type.toString(16)}`;
}

async function runCases(
  dir: string,
  timing: Timing,
  progress: (what: string) => void,
): Promise<PmemBenchRow[]> {
  const rows: PmemBenchRow[] = [];
  for (const bytes of PERSIST_BYTES) {
    for (const [durability, latencyModel] of [
      ['emulated', false],
      ['emulated', true],
      ['msync', false],
    ] as const) {
      progress(`persist ${bytes} B ${durability}${latencyModel ? ' + latency model' : ''}`);
      rows.push(await persistCase(dir, bytes, durability, latencyModel, timing));
    }
    progress(`fdatasync append ${bytes} B`);
    rows.push(await fdatasyncCase(dir, bytes, timing));
  }
  for (const latencyModel of [false, true]) {
    progress(`ptable put/get ${VALUE_BYTES} B${latencyModel ? ' + latency model' : ''}`);
    rows.push(...(await ptableCases(dir, latencyModel, timing)));
    progress(`plog append ${VALUE_BYTES} B${latencyModel ? ' + latency model' : ''}`);
    rows.push(await plogCase(dir, latencyModel, timing));
  }
  return rows;
}

function table(rows: readonly PmemBenchRow[]): string {
  return markdownTable(
    ['op', 'bytes', 'durability', 'latency model', 'ns/op (median)', 'ops/s'],
    rows.map((r) => [
      r.op,
      'bytes' in r ? r.bytes : r.valueBytes,
      'durability' in r ? r.durability : 'fdatasync',
      'latencyModel' in r ? (r.latencyModel ? 'Optane' : 'off') : '-',
      Math.round(r.nsPerOp * 10) / 10,
      Math.round(1e9 / r.nsPerOp),
    ]),
  );
}

function notes(rows: readonly PmemBenchRow[], fs: string, timing: Timing): string {
  const persist64 = rows.find(
    (r) => r.op === 'persist' && r.bytes === 64 && r.durability === 'emulated' && !r.latencyModel,
  );
  const put = rows.find((r) => r.op === 'ptable-put' && !r.latencyModel);
  const wal = rows.find((r) => r.op === 'fdatasync-append' && r.bytes === 64);
  return [
    `Persist of one 64 B line, emulated, model off: **${formatNumber(persist64?.nsPerOp ?? NaN)} ns** (bar: <= 1000 ns).`,
    `PTable put of a ${VALUE_BYTES} B value, emulated, model off: **${formatNumber('opsPerSec' in (put ?? {}) ? (put as { opsPerSec: number }).opsPerSec : NaN)} records/s** (bar: >= 500,000).`,
    `A 64 B append + fdatasync on ${fs}: **${formatNumber(wal?.nsPerOp ?? NaN)} ns**.`,
    '',
    '## How it is measured',
    '',
    `- Temporary files on ${fs} (\`--dir\`), removed afterwards. Each tinybench iteration runs a batch of`,
    `  operations sized to take about ${timing.batchTargetMs} ms; ns/op is the median batch time / batch size.`,
    '- `persist`: one 1-byte store then `persist(offset, bytes)` (flush + fence), offsets cycling through',
    '  1 MiB. `emulated` copies the lines into the durable image; `msync` also msyncs the touched pages',
    '  (MS_SYNC); the latency model (Optane: 28 ns per line + 62 ns per fence) busy-waits on',
    '  `performance.now()`, whose reads cost ~50 ns each, so small charges overshoot by about one read.',
    '- `ptable-put`: updates cycling over 10,000 keys (three fences: body and intent, valid word, then',
    '  index entry, free stack, old slot and counters).',
    '  `ptable-get` verifies the checksum and copies the value. `plog-append`: one persist per record.',
    '- `fdatasync-append`: `write` + `fdatasync` on a plain file opened for append: a WAL commit.',
    '- The machine is shared with other work; figures are medians, and still noisy.',
  ].join('\n');
}

export const benchPmemCommand: Command = {
  name: 'bench pmem',
  summary:
    'cost of persist (emulated, latency model, msync), PLog/PTable rates, vs append + fdatasync',
  options: {
    quick: { type: 'boolean', help: 'few, short iterations (a smoke test; figures are rough)' },
    dir: {
      type: 'string',
      arg: 'DIR',
      help: 'where the temporary region and WAL files go',
      default: 'the OS temp dir',
    },
    ...outputOptions('pmem.json and pmem.md'),
  } satisfies OptionTable,
  async run(values) {
    const quick = values['quick'] === true;
    const timing = quick ? QUICK : FULL;
    const base = typeof values['dir'] === 'string' ? resolve(values['dir']) : tmpdir();
    const dir = mkdtempSync(join(base, 'heal-bench-pmem-'));
    let rows: PmemBenchRow[];
    let fs: string;
    try {
      fs = fsName(dir);
      rows = await runCases(dir, timing, (what) =>
        process.stderr.write(`heal bench pmem: ${what}\n`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return publishReport(values, {
      command: 'bench pmem',
      name: 'pmem',
      title: 'Emulated persistent memory: persist, PLog, PTable vs fdatasync',
      config: { quick, fileSystem: fs, batchTargetMs: timing.batchTargetMs, timeMs: timing.timeMs },
      rows,
      table: table(rows),
      notes: notes(rows, fs, timing),
    });
  },
};
