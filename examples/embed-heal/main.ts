// Embedding HEAL: a 3-replica store on worker threads, in this process. It writes and reads,
// crashes a replica, writes while it is down, restarts it with HEAL and checks that the
// recovered replica serves every write it missed. Exits 1 on any mismatch.
//
//   npx tsc -b && node examples/dist/embed-heal/main.js
//
// The packages are imported by their names, as an application depending on them would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { HEAL_REPLICA_MODULE } from '@heal/heal';
import { ThreadCluster, type KvClient, type RecoveryReport } from '@heal/kv';

const REPLICAS = 3;
/** The replica we crash and recover with HEAL. */
const VICTIM = 2;
/** Every replica starts with this dataset (keys k0..k999, 32-byte values) on its medium. */
const DATASET = { keys: 1000, valueSizes: { bytes: [32], weights: [1] } };
/** Keys written before the crash, and how many of them are overwritten while the victim is down. */
const WRITES_BEFORE = 50;
const WRITES_DURING = 20;
/** Limits for the cluster to form and for the victim to recover: a hang fails, it does not stall. */
const READY_LIMIT_MS = 60_000;
const RECOVER_LIMIT_MS = 60_000;

const ms = (n: number): string => `${n.toFixed(1)} ms`;
const int = (n: number): string => n.toLocaleString('en-US');
const since = (startMs: number): string => ms(performance.now() - startMs);
const mismatches: string[] = [];

/** Reads served by `replica` itself so far (a replica that does not serve passes a read on). */
async function readsServed(cluster: ThreadCluster, replica: number): Promise<number> {
  const { actor } = await cluster.stats(replica);
  return (actor['readsServed'] ?? 0) + (actor['readsWaited'] ?? 0);
}

/**
 * Reads every key of `expected` from `replica` and prints how many match. Also checks that
 * `replica` answered them itself: the client would quietly ask another replica if it did not.
 */
async function readBack(
  cluster: ThreadCluster,
  client: KvClient,
  replica: number,
  what: string,
  expected: ReadonlyMap<string, string>,
): Promise<void> {
  const servedBefore = await readsServed(cluster, replica);
  let matched = 0;
  for (const [key, value] of expected) {
    const got = await client.get(key, replica);
    if (got === value) matched++;
    else
      mismatches.push(
        `replica ${replica}: ${key} = ${JSON.stringify(got)}, expected ${JSON.stringify(value)}`,
      );
  }
  const served = (await readsServed(cluster, replica)) - servedBefore;
  if (served !== expected.size)
    mismatches.push(
      `replica ${replica} served ${served} of ${expected.size} reads of ${what}; another replica answered the rest`,
    );
  console.log(
    `read ${what} from replica ${replica}: ${matched}/${expected.size} match (replica ${replica} served ${served})`,
  );
}

function printReport(report: RecoveryReport): void {
  const phases = Object.entries(report.phasesMs)
    .map(([name, t]) => `${name} ${ms(t)}`)
    .join(', ');
  const counts = Object.entries(report.counts)
    .map(([name, n]) => `${name} ${int(n)}`)
    .join(', ');
  console.log(
    `recovery report of replica ${VICTIM} (strategy ${report.strategy}, incarnation ${report.incarnation}):`,
  );
  console.log(
    `  recovery latency  ${ms(report.recoveryMs)} (from the replica's start to serving reads)`,
  );
  console.log(`  phases            ${phases}`);
  console.log(`  bytes moved       ${int(report.bytesMoved)} B`);
  console.log(
    `  entries           ${int(report.entriesReceived)} received, ${int(report.entriesApplied)} applied`,
  );
  console.log(`  counts            ${counts || '(none)'}`);
  // HEAL's Buddy selects the missed writes from its Missed-updates buffer when that covers the
  // outage, and otherwise finds them by Merkle descent over the replica's digest.
  const how = report.counts['bufferSessions']
    ? "selected from the Buddy's Missed-updates buffer"
    : report.counts['descentSessions']
      ? "found by Merkle descent (the Buddy's buffer did not cover the outage)"
      : 'unknown';
  console.log(`  missed writes     ${how}`);
}

async function run(cluster: ThreadCluster, startedMs: number): Promise<void> {
  await cluster.ready(READY_LIMIT_MS);
  console.log(
    `cluster started and ready in ${since(startedMs)}: every replica holds ${int(DATASET.keys)} dataset keys of ${DATASET.valueSizes.bytes[0]} B`,
  );

  // One client endpoint in this thread; each call names the replica it asks first.
  const client = cluster.client(0);
  const written = new Map<string, string>();

  let t = performance.now();
  for (let i = 0; i < WRITES_BEFORE; i++) {
    await client.put(`k${i}`, `before-${i}`, 0);
    written.set(`k${i}`, `before-${i}`);
  }
  console.log(`wrote ${WRITES_BEFORE} keys through replica 0 in ${since(t)}`);
  await readBack(cluster, client, 1, `those ${WRITES_BEFORE} keys`, written);

  await cluster.crash(VICTIM);
  console.log(`crashed replica ${VICTIM} (its worker thread is terminated; its pmem file stays)`);

  // The first write waits until the others stop waiting for the crashed replica (a new view).
  t = performance.now();
  const missed = new Map<string, string>();
  for (let i = 0; i < WRITES_DURING; i++) {
    await client.put(`k${i}`, `during-${i}`, 0);
    missed.set(`k${i}`, `during-${i}`);
    written.set(`k${i}`, `during-${i}`);
  }
  console.log(
    `wrote ${WRITES_DURING} keys while replica ${VICTIM} was down in ${since(t)} (overwrote k0..k${WRITES_DURING - 1})`,
  );

  // restart() resolves once a new worker thread runs the replica; recover() once it serves reads.
  t = performance.now();
  await cluster.restart(VICTIM, { strategy: 'heal' });
  const restartedMs = performance.now() - t;
  const report = await cluster.recover(VICTIM, RECOVER_LIMIT_MS);
  console.log(
    `restarted replica ${VICTIM} with HEAL: its new worker thread ran after ${ms(restartedMs)}, it served reads ${since(t)} after the restart call`,
  );
  printReport(report);
  if (report.strategy !== 'heal') mismatches.push(`recovered with ${report.strategy}, not heal`);
  if (report.entriesApplied < WRITES_DURING) {
    mismatches.push(
      `applied ${report.entriesApplied} entries, fewer than the ${WRITES_DURING} writes it missed`,
    );
  }

  // Every replica back in one view with a read lease; then read everything from the recovered one.
  await cluster.ready(READY_LIMIT_MS);
  await readBack(cluster, client, VICTIM, `the ${missed.size} writes it missed`, missed);
  const kept = new Map([...written].filter(([key]) => !missed.has(key)));
  await readBack(cluster, client, VICTIM, `the ${kept.size} writes its medium kept`, kept);
  const lastKey = `k${DATASET.keys - 1}`;
  const value = await client.get(lastKey, VICTIM);
  const datasetOk = value !== null && value.length === DATASET.valueSizes.bytes[0];
  if (!datasetOk)
    mismatches.push(`replica ${VICTIM}: dataset key ${lastKey} = ${JSON.stringify(value)}`);
  console.log(
    `read dataset key ${lastKey} from replica ${VICTIM}: ${datasetOk ? `${value.length} B, ok` : 'MISMATCH'}`,
  );
}

const started = performance.now();
const dataDir = mkdtempSync(join(tmpdir(), 'heal-embed-'));
console.log(
  `embed-heal: ${REPLICAS} replicas on worker threads, pmem medium (latency model off), Synch persistency, HEAL recovery`,
);
console.log(`data dir: ${dataDir}`);
try {
  const cluster = await ThreadCluster.start({
    replicas: REPLICAS,
    clients: 1,
    module: HEAL_REPLICA_MODULE,
    strategy: 'heal',
    medium: 'pmem',
    model: 'synch',
    dataDir,
    pmemCapacity: 4096,
    pmemLatency: false,
    dataset: DATASET,
  });
  try {
    await run(cluster, started);
  } finally {
    await cluster.shutdown();
  }
} catch (err) {
  mismatches.push(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
  console.log(`shut down the cluster and removed ${dataDir}`);
}

if (mismatches.length > 0) {
  console.error(`FAILED: ${mismatches.length} mismatch(es)`);
  for (const m of mismatches) console.error(`  ${m}`);
  process.exitCode = 1;
} else {
  console.log(
    `OK: replica ${VICTIM} recovered with HEAL and serves every write it missed (${since(started)} in all)`,
  );
}
