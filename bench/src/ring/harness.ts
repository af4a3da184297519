import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { SpscRing } from '@heal/actors/rings';
import {
  bump,
  changed,
  kBatchIndex,
  kControlWords,
  kDoneIndex,
  kGoIndex,
  kReadyIndex,
  kTargetIndex,
  ringCapacityFor,
  type BenchWorkerData,
  type Direction,
  type Transport,
} from './protocol.js';

const kWorkerUrl = new URL('./worker.js', import.meta.url);

export interface CaseSpec {
  transport: Transport;
  direction: Direction;
  messageBytes: number;
}

/** Two worker threads set up for one case; the main thread only starts batches and waits. */
export interface RunningCase {
  /** Moves `messages` messages (one-way) or round trips, resolving when the last one arrived. */
  runBatch(messages: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCase(spec: CaseSpec): Promise<RunningCase> {
  const control = new Int32Array(new SharedArrayBuffer(kControlWords * 4));
  const base = { ...spec, controlSab: control.buffer as SharedArrayBuffer };
  const workers: Worker[] = [];
  const failure = new Promise<never>((_, reject) => {
    const spawn = (data: BenchWorkerData, transferList: MessagePort[] = []): void => {
      const worker = new Worker(kWorkerUrl, { workerData: data, transferList });
      worker.on('error', (err) =>
        reject(new Error(`${spec.transport} ${spec.direction} ${data.role}: ${err.message}`)),
      );
      worker.on('exit', (code) => {
        if (code !== 0)
          reject(new Error(`${spec.transport} ${spec.direction} ${data.role} exited with ${code}`));
      });
      workers.push(worker);
    };
    if (spec.transport === 'ring') {
      const capacityBytes = ringCapacityFor(spec.messageBytes);
      const forwardRing = SpscRing.create(capacityBytes).sab;
      const backwardRing =
        spec.direction === 'round-trip' ? SpscRing.create(capacityBytes).sab : undefined;
      const rings = backwardRing === undefined ? { forwardRing } : { forwardRing, backwardRing };
      spawn({ ...base, role: 'peer', ...rings });
      spawn({ ...base, role: 'driver', ...rings });
    } else {
      const { port1, port2 } = new MessageChannel();
      spawn({ ...base, role: 'peer', port: port2 }, [port2]);
      spawn({ ...base, role: 'driver', port: port1 }, [port1]);
    }
  });
  failure.catch(() => {}); // observed through the races below
  let closing = false;
  const guard = <T>(p: Promise<T>): Promise<T> => Promise.race([p, failure]);
  for (let ready = 0; ready < 2;) ready = await guard(changed(control, kReadyIndex, ready));
  let target = 0;
  let done = Atomics.load(control, kDoneIndex);
  return {
    async runBatch(messages: number): Promise<void> {
      target += messages;
      Atomics.store(control, kBatchIndex, messages);
      Atomics.store(control, kTargetIndex, target);
      bump(control, kGoIndex);
      done = await guard(changed(control, kDoneIndex, done));
    },
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      for (const worker of workers) worker.removeAllListeners('exit');
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
