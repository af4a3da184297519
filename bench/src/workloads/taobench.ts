import assert from 'node:assert/strict';
import { checkKey, checkKeys, checkValueBytes } from './checks.js';
import {
  TAOBENCH_WORKLOAD_O,
  type TaobenchParams,
  type TaobenchWriteTypes,
} from './taobench-params.js';
import { WeightedChoice } from './weighted-choice.js';
import type { Workload, WorkloadOp, WorkloadOptions } from './workload.js';

/** Indices of `TaobenchParams.requests` in the order of its JSON "operations" weights. */
const READ = 0;
const WRITE = 1;
const READ_TXN = 2;
/** Index of edges in a mix's [objects, edges] choice. */
const EDGE = 1;
/** Keys per shard at least: two objects and one edge, so both kinds exist in every shard. */
const MIN_KEYS_PER_SHARD = 3;

/** Which kind of key (object or edge) one operation type touches, and what it does. */
interface Mix {
  readonly kinds: WeightedChoice;
  readonly op: 'get' | 'put';
}

/**
 * A TAOBench-like workload (Cheng et al., "TAOBench: An End-to-End Benchmark for Social
 * Network Workloads", VLDB 2022), from the published workload O by default
 * (TAOBENCH_WORKLOAD_O, which cites each field's source).
 *
 * Keys: TAOBench divides ids into `shards` equal key ranges (src/constants.h); we divide
 * [0, keys) into as many contiguous ranges. Its loader writes each loaded edge with both
 * endpoint objects (WorkloadLoader::WriteToBuffers), so within a shard every third key
 * (offset % 3 === 2) is an edge and the rest are objects: 2/3 objects, 1/3 edges.
 *
 * Popularity: every operation samples a shard from "primary_shards", then a key of its kind
 * uniformly within the shard, as TraceGeneratorWorkload::GetRandomEdge picks a shard and then
 * a uniform edge. TAOBench reads the chosen edge's primary endpoint; we do not tell primary
 * from remote endpoints and pick any object of the shard ("remote_shards" only places
 * remote endpoints at load time and is unused here).
 *
 * Operations: every read type is a get of one key (an edge range or count read reads one
 * association list, here one value); updates are puts; adds are puts too, of an existing key
 * of their kind, since the key space is fixed (TAOBench inserts a fresh id in that shard).
 * WorkloadOp has no delete; the files give deletes weight 0 and other weights are rejected.
 *
 * Transactions are out of scope (the store is non-transactional): a transaction is emitted
 * as its individual operations, on consecutive `next` calls, with its size from
 * "read_txn_sizes"/"write_txn_sizes" and each operation from the txn operation types, as
 * GetReadTransaction/GetWriteTransaction build them. Workload O so gives 99.81% gets.
 *
 * Values are all `params.valueBytes` long (150 B, TAOBench's only size) unless
 * `options.valueBytes` says otherwise.
 */
export class TaobenchWorkload implements Workload {
  readonly name = 'taobench';
  readonly keys: number;
  readonly readRatio: number;
  readonly params: TaobenchParams;
  private readonly valueBytes: number;
  private readonly requests: WeightedChoice;
  private readonly shards: WeightedChoice;
  private readonly single: readonly [read: Mix, write: Mix];
  private readonly txn: readonly [read: Mix, write: Mix];
  private readonly txnSizes: readonly [read: WeightedChoice, write: WeightedChoice];
  /** First key of each shard, and one past the last. */
  private readonly shardStarts: Float64Array;
  /** Operations of the current transaction still to emit, and their mix. */
  private txnOpsLeft = 0;
  private txnMix: Mix;

  constructor(options: WorkloadOptions, params: TaobenchParams = TAOBENCH_WORKLOAD_O) {
    checkKeys(options.keys, MIN_KEYS_PER_SHARD * params.shards, 'taobench');
    const valueBytes = options.valueBytes ?? params.valueBytes;
    checkValueBytes(valueBytes);
    checkParams(params);
    this.keys = options.keys;
    this.params = params;
    this.valueBytes = valueBytes;
    const r = params.requests;
    this.requests = new WeightedChoice([r.read, r.write, r.readTxn, r.writeTxn], 'params.requests');
    this.shards = new WeightedChoice(params.primaryShards, 'params.primaryShards');
    const reads = params.readOperationTypes;
    const readEdges =
      reads.edgePointRead + reads.edgeRangeRead + reads.edgeCountRead + reads.edgeTimeRead;
    const txnReads = params.readTxnOperationTypes;
    this.single = [
      mix(reads.objRead, readEdges, 'get', 'params.readOperationTypes'),
      writeMix(params.writeOperationTypes, 'params.writeOperationTypes'),
    ];
    this.txn = [
      mix(txnReads.objRead, txnReads.edgePointRead, 'get', 'params.readTxnOperationTypes'),
      writeMix(params.writeTxnOperationTypes, 'params.writeTxnOperationTypes'),
    ];
    this.txnMix = this.txn[0];
    this.txnSizes = [
      new WeightedChoice(params.readTxnSizes, 'params.readTxnSizes'),
      new WeightedChoice(params.writeTxnSizes, 'params.writeTxnSizes'),
    ];
    const getOps = r.read + r.readTxn * meanSize(params.readTxnSizes);
    const putOps = r.write + r.writeTxn * meanSize(params.writeTxnSizes);
    this.readRatio = getOps / (getOps + putOps);
    this.shardStarts = new Float64Array(params.shards + 1);
    for (let s = 0; s <= params.shards; s++) {
      this.shardStarts[s] = Math.floor((s * this.keys) / params.shards);
    }
  }

  next(random: () => number): WorkloadOp {
    if (this.txnOpsLeft > 0) {
      this.txnOpsLeft--;
      return this.op(this.txnMix, random);
    }
    const request = this.requests.sample(random);
    if (request === READ || request === WRITE) return this.op(this.single[request], random);
    const write = request === READ_TXN ? 0 : 1;
    // Index i of the size weights is a transaction of i + 1 operations; this call emits one.
    this.txnOpsLeft = this.txnSizes[write].sample(random);
    this.txnMix = this.txn[write];
    return this.op(this.txnMix, random);
  }

  datasetValueBytes(key: number): number {
    checkKey(key, this.keys);
    return this.valueBytes;
  }

  /** The shard that holds `key`: the s with shardStarts[s] <= key < shardStarts[s + 1]. */
  shardOf(key: number): number {
    checkKey(key, this.keys);
    return Math.floor((this.params.shards * (key + 1) - 1) / this.keys);
  }

  /** Whether `key` is an edge (association) rather than an object. */
  isEdge(key: number): boolean {
    return (key - this.shardStarts[this.shardOf(key)]) % 3 === 2;
  }

  describe(): Record<string, string | number> {
    const edgeKeys = this.shardSizes().reduce((sum, n) => sum + Math.floor(n / 3), 0);
    return {
      workload: this.name,
      source: this.params.source,
      keys: this.keys,
      shards: this.params.shards,
      objectKeys: this.keys - edgeKeys,
      edgeKeys,
      readRatio: this.readRatio,
      transactions: 'emitted as their individual operations',
      valueBytes: this.valueBytes,
    };
  }

  private op(mix: Mix, random: () => number): WorkloadOp {
    const edge = mix.kinds.sample(random) === EDGE;
    const shard = this.shards.sample(random);
    const start = this.shardStarts[shard];
    const size = this.shardStarts[shard + 1] - start;
    // Offsets 3j + 2 are edges; objects are the other two offsets of each triple.
    let offset: number;
    if (edge) {
      offset = 3 * Math.floor(random() * Math.floor(size / 3)) + 2;
    } else {
      const m = Math.floor(random() * (size - Math.floor(size / 3)));
      offset = 3 * Math.floor(m / 2) + (m % 2);
    }
    assert(offset < size, 'a taobench key falls outside its shard');
    const key = start + offset;
    return mix.op === 'get'
      ? { kind: 'get', key, valueBytes: 0 }
      : { kind: 'put', key, valueBytes: this.valueBytes };
  }

  private shardSizes(): number[] {
    const sizes: number[] = [];
    for (let s = 0; s < this.params.shards; s++) {
      sizes.push(this.shardStarts[s + 1] - this.shardStarts[s]);
    }
    return sizes;
  }
}

function mix(objects: number, edges: number, op: Mix['op'], field: string): Mix {
  return { kinds: new WeightedChoice([objects, edges], field), op };
}

/** Adds and updates alike become puts (deletes are rejected by checkParams). */
function writeMix(types: TaobenchWriteTypes, field: string): Mix {
  return mix(types.objAdd + types.objUpdate, types.edgeAdd + types.edgeUpdate, 'put', field);
}

function meanSize(weights: readonly number[]): number {
  let total = 0;
  let weighted = 0;
  weights.forEach((w, i) => {
    total += w;
    weighted += w * (i + 1);
  });
  return weighted / total;
}

function checkParams(params: TaobenchParams): void {
  if (params.primaryShards.length !== params.shards) {
    throw new RangeError(
      `params.primaryShards must have params.shards (${params.shards}) weights, ` +
        `got ${params.primaryShards.length}`,
    );
  }
  for (const [field, w] of [
    ['writeOperationTypes', params.writeOperationTypes],
    ['writeTxnOperationTypes', params.writeTxnOperationTypes],
  ] as const) {
    if (w.objDelete !== 0 || w.edgeDelete !== 0) {
      throw new RangeError(`params.${field}: deletes are not supported (weights must be 0)`);
    }
  }
}
