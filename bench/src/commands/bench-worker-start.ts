import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import type { Command, OptionTable, OptionValues } from '../cli/command.js';
import { intFlag, intList, listFlag } from '../cli/flags.js';
import { markdownTable, publishReport } from '../report/document.js';
import { outputOptions } from '../report/results-dir.js';
import {
  WORKER_START_MEDIA,
  WORKER_START_MODES,
  type WorkerStartConfig,
  type WorkerStartRow,
} from '../worker-start/config.js';

const OPTIONS = {
  media: {
    type: 'string',
    arg: 'LIST',
    help: 'media to start replicas on',
    default: WORKER_START_MEDIA,
  },
  modes: {
    type: 'string',
    arg: 'LIST',
    default: WORKER_START_MODES,
    help: [
      'restart on a worker booted while the replica was down (spare),',
      'or on a new one (cold)',
    ],
  },
  keys: {
    type: 'string',
    arg: 'LIST',
    help: "dataset records on every replica's medium",
    default: [1000, 50_000],
    quick: [200],
  },
  'value-bytes': { type: 'string', arg: 'N', help: 'dataset value size', default: 64 },
  replicas: { type: 'string', arg: 'N', help: 'replicas per cluster, at least 3', default: 3 },
  restarts: {
    type: 'string',
    arg: 'N',
    help: 'crash-and-restart cycles per row',
    default: 7,
    quick: 2,
  },
  'outage-ms': {
    type: 'string',
    arg: 'N',
    help: 'from each crash to its restart',
    default: 1000,
    quick: 300,
  },
  seed: { type: 'string', arg: 'N', help: 'cluster seed', default: 1 },
  'data-dir': {
    type: 'string',
    arg: 'DIR',
    help: 'where the wal/pmem files go',
    default: 'the OS temp directory',
  },
  quick: { type: 'boolean', help: 'small and short (a smoke test)' },
} as const satisfies OptionTable;

function parseConfig(values: OptionValues): WorkerStartConfig {
  const quick = values['quick'] === true;
  return {
    media: listFlag(values, 'media', WORKER_START_MEDIA, WORKER_START_MEDIA),
    modes: listFlag(values, 'modes', WORKER_START_MODES, WORKER_START_MODES),
    keys: intList(values, 'keys', quick ? OPTIONS.keys.quick : OPTIONS.keys.default, 0, 1_000_000),
    valueBytes: intFlag(values, 'value-bytes', OPTIONS['value-bytes'].default, 0, 1 << 16),
    replicas: intFlag(values, 'replicas', OPTIONS.replicas.default, 3, 12),
    restarts: intFlag(
      values,
      'restarts',
      quick ? OPTIONS.restarts.quick : OPTIONS.restarts.default,
      1,
      100,
    ),
    outageMs: intFlag(
      values,
      'outage-ms',
      quick ? OPTIONS['outage-ms'].quick : OPTIONS['outage-ms'].default,
      0,
      60_000,
    ),
    seed: intFlag(values, 'seed', OPTIONS.seed.default, 0),
    dataDir: typeof values['data-dir'] === 'string' ? resolve(values['data-dir']) : tmpdir(),
  };
}

const NOTES = [
  'Each row: a fresh cluster of HEAL replicas on worker threads (every replica starting with `keys` dataset records',
  'on its medium), then `restarts` times replica 1 is crashed, restarted `outageMs` later, and waited for until it',
  'serves reads again. Worker start (`workerStartMs`, median, and p90) runs from the `restart()` call to the',
  "replica's `start()` having returned in its new worker, the medium opened and loaded: the times are the worker's",
  "own marks on the clock all threads share (ThreadRuntime's WorkerStart). The split, medians in ms:",
  '- boot: the worker created to its script running; imports: the script to the replica module imported. With',
  "  `spare` the runtime did both while the replica was down (right after the crash), off the restart's path; with",
  '  `cold` (`spareWorkers: false`) the restart creates the worker and waits for both.',
  '- assign: from the restart call (or the end of the imports, if later) to the worker receiving its replica.',
  '- medium open: `createStorage` (volatile: nothing; wal: its checkpoint (snapshot) read and its log tail replayed,',
  '  split in the next two columns, then one pass for the digest and the not-Valid keys; pmem: the region mapped',
  '  and PTable.open, which reads its metadata, one journal line and its not-Valid bitmap, never a slot).',
  '- replica start: `createActor` and `start`, which loads what the medium kept into the replica (load: that part,',
  "  from the replica's recovery report) and starts the recovery strategy (HEAL takes the digest the medium kept).",
  "- restart(): what the call took, to the runtime receiving the worker's ready message.",
  '',
  'What grows with `keys`: records stay on a durable medium and a restarted replica holds only those it touches, so',
  'its load reads the not-Valid records the medium lists and the digest it kept, nothing per record. A wal replica',
  "replays its snapshot and log when it opens, O(keys); a pmem replica's open is O(metadata) (its bitmap is one",
  'bit per slot). A volatile replica keeps nothing and loads nothing (its recovery copies the records, after the',
  "start measured here). The times are those of a fresh thread's first run of that code, on a shared machine:",
  'compare rows of one run.',
].join('\n');

function table(rows: WorkerStartRow[]): string {
  return markdownTable(
    [
      'medium',
      'keys',
      'mode',
      'restarts',
      'worker start ms',
      'p90 ms',
      'boot',
      'imports',
      'assign',
      'medium open',
      'snapshot',
      'log tail',
      'replica start',
      'load',
      'restart()',
    ],
    rows.map((r) => [
      r.medium,
      r.keys,
      r.mode,
      r.restarts,
      r.workerStartMs,
      r.workerStartP90Ms,
      r.bootMs,
      r.importMs,
      r.assignMs,
      r.mediumOpenMs,
      r.snapshotMs ?? '-',
      r.logTailMs ?? '-',
      r.replicaStartMs,
      r.loadMs,
      r.restartCallMs,
    ]),
  );
}

export const benchWorkerStartCommand: Command = {
  name: 'bench worker-start',
  summary:
    "how long a restarted replica's worker takes to run its replica, per medium, and where the time goes",
  options: { ...OPTIONS, ...outputOptions('worker-start.json and worker-start.md') },
  async run(values) {
    const config = parseConfig(values);
    // Loaded here, not at the top: `heal` must not import the thread runtime for other commands.
    const { runWorkerStartBench } = await import('../worker-start/run-worker-start.js');
    const rows = await runWorkerStartBench(config, (what) =>
      process.stderr.write(`heal bench worker-start: ${what}\n`),
    );
    return publishReport(values, {
      command: 'bench worker-start',
      name: 'worker-start',
      title: 'Replica worker start after a crash, per medium',
      config: { ...config, strategy: 'heal', model: 'synch', runtime: 'threads' },
      rows,
      table: table(rows),
      notes: NOTES,
    });
  },
};
