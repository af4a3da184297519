import type { Command, OptionTable, OptionValues } from '../cli/command.js';
import { intFlag, intList, ratioList } from '../cli/flags.js';
import { markdownTable, publishReport } from '../report/document.js';
import { outputOptions } from '../report/results-dir.js';
import type { ProtocolBenchConfig, ProtocolBenchRow } from '../protocol/run-protocol-bench.js';

const OPTIONS = {
  replicas: { type: 'string', arg: 'LIST', help: 'replica counts', default: [3, 6] },
  'read-ratios': {
    type: 'string',
    arg: 'LIST',
    help: 'read fractions',
    default: [1, 0.95, 0.5, 0],
  },
  keys: {
    type: 'string',
    arg: 'N',
    help: 'keys, each written once before measuring',
    default: 100_000,
    quick: 2000,
  },
  'value-bytes': { type: 'string', arg: 'N', help: 'value size', default: 64 },
  ops: {
    type: 'string',
    arg: 'N',
    help: 'operations measured per row, after as many not measured',
    default: 200_000,
    quick: 5000,
  },
  batch: {
    type: 'string',
    arg: 'N',
    help: 'operations sent before each delivery round',
    default: 64,
  },
  seed: { type: 'string', arg: 'N', help: 'key choice seed', default: 1 },
  quick: { type: 'boolean', help: 'small and short (a smoke test)' },
} as const satisfies OptionTable;

function parseConfig(values: OptionValues): ProtocolBenchConfig {
  const quick = values['quick'] === true;
  const o = OPTIONS;
  return {
    replicas: intList(values, 'replicas', o.replicas.default, 1, 12),
    readRatios: ratioList(values, 'read-ratios', o['read-ratios'].default),
    keys: intFlag(values, 'keys', quick ? o.keys.quick : o.keys.default, 1, 10_000_000),
    valueBytes: intFlag(values, 'value-bytes', o['value-bytes'].default, 0, 1 << 20),
    ops: intFlag(values, 'ops', quick ? o.ops.quick : o.ops.default, 1, 100_000_000),
    batch: intFlag(values, 'batch', o.batch.default, 1, 4096),
    seed: intFlag(values, 'seed', o.seed.default, 0),
  };
}

const PROTOCOL_NOTES = [
  'The replicas and one client in a single thread, with nothing between them but the codec: each message is',
  "encoded into its receiver's inbox and decoded at delivery, in rounds (a replica's handlers, then its flush),",
  'on a virtual clock; Synch on the volatile medium, as bench kv. The client sends `batch` operations (uniform',
  'keys, replicas in turn, one get per replica), waits for every answer, and moves the clock on 0.05 ms. CPU',
  'µs/op: process CPU time per operation over `ops` operations, after as many not measured: the cost of the',
  'protocol and its codec without threads, rings or their scheduling, which makes differences of a few percent',
  "visible that bench kv's run-to-run noise hides. messages/op: messages the replicas handled per operation.",
].join('\n');

function table(rows: ProtocolBenchRow[]): string {
  return markdownTable(
    ['replicas', 'reads', 'keys', 'value bytes', 'ops', 'CPU µs/op', 'messages/op'],
    rows.map((r) => [
      r.replicas,
      `${Math.round(r.readRatio * 100)}%`,
      r.keys,
      r.valueBytes,
      r.ops,
      r.cpuUsPerOp,
      r.messagesPerOp,
    ]),
  );
}

export const benchProtocolCommand: Command = {
  name: 'bench protocol',
  summary:
    'CPU per operation of the replication protocol and its codec alone (every replica in one thread)',
  options: { ...OPTIONS, ...outputOptions('protocol.json and protocol.md') },
  async run(values) {
    const config = parseConfig(values);
    const { runProtocolBench } = await import('../protocol/run-protocol-bench.js');
    const rows = runProtocolBench(config, (what) =>
      process.stderr.write(`heal bench protocol: ${what}\n`),
    );
    return publishReport(values, {
      command: 'bench protocol',
      name: 'protocol',
      title: 'Replication protocol: CPU per operation in one thread',
      config: { ...config, medium: 'volatile', model: 'synch', runtime: 'loopback' },
      rows,
      table: table(rows),
      notes: PROTOCOL_NOTES,
    });
  },
};
