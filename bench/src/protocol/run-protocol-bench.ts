import { byteStringOf, type ByteString } from '@heal/actors';
import { Prng } from '@heal/base';
import {
  kvReplicaModule,
  LoopbackCluster,
  replicaConfigOf,
  THREAD_TIMING,
  type KvWire,
} from '@heal/kv';

export interface ProtocolBenchConfig {
  replicas: number[];
  readRatios: number[];
  keys: number;
  valueBytes: number;
  /** Operations measured per row (after as many not measured). */
  ops: number;
  /** Operations the client sends before a delivery round (reads to one replica go in one get). */
  batch: number;
  seed: number;
}

export interface ProtocolBenchRow {
  replicas: number;
  readRatio: number;
  keys: number;
  valueBytes: number;
  ops: number;
  /** CPU time of the process per operation (one thread does everything). */
  cpuUsPerOp: number;
  /** Messages replicas handled per operation (client requests included). */
  messagesPerOp: number;
}

/** Virtual milliseconds between batches of operations: timers (ticks, leases) keep running. */
const MS_PER_BATCH = 0.05;
/** Virtual time before the first operation: the replicas agree on a view and take leases. */
const START_MS = 3000;

/**
 * For each replica count: a LoopbackCluster (Synch, volatile, as bench kv), every key written
 * once, then for each read ratio
 * `ops` operations not measured (so the code is compiled) and `ops` measured. Keys uniform;
 * each batch spreads its operations over the replicas in turn.
 */
export function runProtocolBench(
  config: ProtocolBenchConfig,
  progress: (what: string) => void,
): ProtocolBenchRow[] {
  const rows: ProtocolBenchRow[] = [];
  const keys = Array.from({ length: config.keys }, (_, i) => `k${i}`);
  const value = byteStringOf(Buffer.alloc(config.valueBytes, 0x76));
  for (const replicas of config.replicas) {
    const cluster = new LoopbackCluster(
      kvReplicaModule,
      replicaConfigOf(replicas, THREAD_TIMING, { model: 'synch' }),
      config.seed,
    );
    cluster.advance(START_MS);
    if (!cluster.serving())
      throw new Error(
        `bench protocol: ${replicas} replicas do not serve reads after ${START_MS} virtual ms`,
      );
    progress(`${replicas} replicas: writing ${config.keys} keys`);
    const driver = new Driver(cluster, keys, value, config.seed);
    driver.preload(config.batch);
    for (const readRatio of config.readRatios) {
      driver.run(config.ops, readRatio, config.batch);
      const handled = cluster.handled;
      const start = process.cpuUsage();
      driver.run(config.ops, readRatio, config.batch);
      const used = process.cpuUsage(start);
      const row: ProtocolBenchRow = {
        replicas,
        readRatio,
        keys: config.keys,
        valueBytes: config.valueBytes,
        ops: config.ops,
        cpuUsPerOp: round2((used.user + used.system) / config.ops),
        messagesPerOp: round2((cluster.handled - handled) / config.ops),
      };
      progress(
        `${replicas} replicas, ${readRatio * 100}% reads: ${row.cpuUsPerOp} us CPU/op, ${row.messagesPerOp} messages/op`,
      );
      rows.push(row);
    }
  }
  return rows;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** The client: operations in batches, each answered before the next batch goes out. */
class Driver {
  readonly #prng: Prng;
  #reqId = 1;
  #next = 0;

  constructor(
    readonly cluster: LoopbackCluster,
    readonly keys: string[],
    readonly value: ByteString,
    seed: number,
  ) {
    this.#prng = new Prng(seed);
  }

  preload(batch: number): void {
    for (let from = 0; from < this.keys.length; from += batch) {
      const to = Math.min(this.keys.length, from + batch);
      for (let i = from; i < to; i++) this.#put(this.keys[i] as string);
      this.#complete(to - from);
    }
  }

  run(ops: number, readRatio: number, batch: number): void {
    const { cluster } = this;
    const gets: { reqId: number; key: string }[][] = Array.from(
      { length: cluster.replicas },
      () => [],
    );
    for (let done = 0; done < ops; done += batch) {
      const n = Math.min(batch, ops - done);
      for (let i = 0; i < n; i++) {
        const key = this.keys[this.#prng.int(this.keys.length)] as string;
        if (this.#prng.float() < readRatio)
          (gets[this.#replica()] as { reqId: number; key: string }[]).push({
            reqId: this.#reqId++,
            key,
          });
        else this.#put(key);
      }
      gets.forEach((items, replica) => {
        if (items.length === 0) return;
        cluster.send(replica, {
          kind: 'get',
          epoch: 0,
          sender: cluster.client,
          items: items.splice(0),
        } as KvWire);
      });
      this.#complete(n);
      cluster.advance(MS_PER_BATCH);
    }
  }

  #replica(): number {
    this.#next = (this.#next + 1) % this.cluster.replicas;
    return this.#next;
  }

  #put(key: string): void {
    const { cluster } = this;
    cluster.send(this.#replica(), {
      kind: 'put',
      epoch: 0,
      sender: cluster.client,
      reqId: this.#reqId++,
      key,
      value: this.value,
    } as KvWire);
  }

  /** Delivers until `n` more operations are answered; a batch left unanswered is a broken run. */
  #complete(n: number): void {
    const { cluster } = this;
    const expected = cluster.answered + n;
    cluster.deliverAll();
    if (cluster.errors > 0)
      throw new Error(`bench protocol: ${cluster.errors} operations answered with an error`);
    if (cluster.answered !== expected) {
      throw new Error(
        `bench protocol: ${expected - cluster.answered} of a batch of ${n} operations unanswered once the replicas went quiet`,
      );
    }
  }
}
