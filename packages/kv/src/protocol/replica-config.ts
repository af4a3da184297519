import type { DatasetSpec } from '../storage/dataset.js';
import type { PersistencyModel } from './durability.js';
import type { StrategyOptions } from './recovery-strategy.js';
import type { Timing } from './timing.js';

/** What every replica of a cluster is started with (threads and simulator alike). */
export interface ReplicaConfig {
  /** Replica ids are 0..replicas-1; ids above are clients. */
  replicas: number;
  timing: Timing;
  /** Name of the recovery strategy (one the module was built with). */
  strategy: string;
  /** Parameters of the recovery strategy (each strategy documents and checks its own). */
  strategyOptions?: StrategyOptions;
  medium: 'volatile' | 'memory-durable' | 'wal' | 'pmem';
  /** Persistency model (ARCHITECTURE.md §5); default 'synch'. */
  model?: PersistencyModel;
  /**
   * Directory of the file-backed media (`wal`, `pmem`), one entry per replica:
   * `${dataDir}/replica-${id}.wal` (a directory) or `${dataDir}/replica-${id}.pmem`. Ignored
   * by the memory media.
   */
  dataDir?: string;
  /** Records a new `pmem` table holds (default PMEM_CAPACITY_DEFAULT); small ones format fast. */
  pmemCapacity?: number;
  /** Largest value a new `pmem` table holds (default PMEM_VALUE_BYTES_MAX_DEFAULT); sizes its slots. */
  pmemValueBytesMax?: number;
  /** `pmem` persist-cost model (Optane flush and fence latencies): default on, false turns it off. */
  pmemLatency?: boolean;
  /**
   * `pmem`: keep the durable image a simulated power failure rewrites the file from (default
   * true). The thread runtime never simulates one and turns it off: no copy of the file at open
   * nor of the flushed lines at each fence.
   */
  pmemCrashSimulation?: boolean;
  /**
   * `pmem`: keep a new large table in process memory, copy-on-write over the images it starts
   * from, instead of a file (PmemStorage's `inMemory`; default false). The simulator's clusters
   * turn it on: their media live as long as the process, and six replicas of one dataset then
   * share its pages.
   */
  pmemInMemory?: boolean;
  /**
   * Initial contents: a replica at its first start whose medium is empty writes the dataset
   * to it (a restarted one keeps what its medium kept).
   */
  dataset?: DatasetSpec;
  /**
   * Test-only fault injection, to prove the checker catches a broken protocol: reads served
   * while a key is Invalid, or by a ShadowReplica (before its recovery finished).
   */
  faults?: { readWhileInvalid?: boolean; shadowServesReads?: boolean };
}
