import { attachEndpoint, type LoadTask } from '@heal/actors';
import { healReplicaModule } from '@heal/heal';
import { KvClient, type KvWire } from '@heal/kv';
import {
  startClientLoad,
  type ClientLoadParams,
  type ExperimentLoadResult,
} from './client-load.js';

export {
  AVOID_MS,
  ReplicaChooser,
  type CrashWrites,
  type ExperimentLoadResult,
} from './client-load.js';

/** Slots of `ExperimentLoadParams.control` (an Int32Array over shared memory). */
export const CONTROL_STARTED = 0;
export const CONTROL_STOP = 1;
export const CONTROL_SLOTS = 2;
/** Slots of `ExperimentLoadParams.marks` (a Float64Array over shared memory; 0 = not yet). */
export const MARK_STEADY_FROM = 0;
export const MARK_CRASH_AT = 1;
export const MARK_SLOTS = 2;

export interface ExperimentLoadParams extends ClientLoadParams {
  timeoutMs: number;
  /** Int32 slots: CONTROL_STARTED (each task adds 1 once it issues), CONTROL_STOP (set by the driver). */
  control: SharedArrayBuffer;
  /** Float64 slots the driver publishes: MARK_STEADY_FROM, MARK_CRASH_AT (shared clock ms). */
  marks: SharedArrayBuffer;
}

/**
 * A piscina task of the recovery experiment: one KvClient on its own ring endpoint runs the
 * workload (client-load.ts) until the driver sets CONTROL_STOP, counting completions per bucket
 * on the shared clock.
 */
export default async function experimentLoad(
  task: LoadTask<ExperimentLoadParams>,
): Promise<ExperimentLoadResult> {
  const p = task.params;
  const control = new Int32Array(p.control);
  const marks = new Float64Array(p.marks);
  const endpoint = attachEndpoint<KvWire>(task.links, healReplicaModule.codec);
  const client = new KvClient(endpoint, { replicas: p.replicas, timeoutMs: p.timeoutMs });
  Atomics.add(control, CONTROL_STARTED, 1);
  const result = await new Promise<ExperimentLoadResult>((resolve) => {
    startClientLoad(
      endpoint,
      client,
      p,
      {
        stopped: () => Atomics.load(control, CONTROL_STOP) !== 0,
        steadyFromMs: () => marks[MARK_STEADY_FROM] as number,
        crashAtMs: () => marks[MARK_CRASH_AT] as number,
        every: (ms, fn) => {
          const timer = setInterval(fn, ms);
          return () => clearInterval(timer);
        },
      },
      resolve,
    );
  });
  client.close();
  await endpoint.close();
  return result;
}
