/*
 * One worker thread of a `heal bench ring` case (see protocol.ts). The driver waits for kGo,
 * moves one batch, and the worker that sees the batch end bumps kDone:
 *
 *   ring one-way      producer: tryWrite, publish every RING_PUBLISH_EVERY records (blocks in
 *                     waitForSpace when full); consumer: poll (handler reads one byte of each record), spins
 *                     RING_SPIN_POLLS empty polls, then sleeps on its doorbell. Consumer ends.
 *   ring round-trip   client keeps ROUND_TRIP_WINDOW requests in flight (spins, then sleeps
 *                     on its doorbell, waiting for replies); echo copies each record into the
 *                     backward ring. Client ends.
 *   postMessage       one-way: pipelined posts of a Uint8Array (structured clone), at most
 *                     ONE_WAY_WINDOW unacknowledged; consumer counts, acks every
 *                     ONE_WAY_CREDIT_EVERY, ends. round-trip: window of ROUND_TRIP_WINDOW, echo.
 *   comlink           one-way: `count(payload)` calls not awaited one by one (at most
 *                     ONE_WAY_WINDOW unresolved); the callee ends when it has run the last one.
 *                     round-trip: `await echo(payload)` with ROUND_TRIP_WINDOW calls in flight.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { SpscRing } from '@heal/actors/rings';
import {
  bump,
  changed,
  kBatchIndex,
  kDoneIndex,
  kGoIndex,
  kReadyIndex,
  kTargetIndex,
  ONE_WAY_CREDIT_EVERY,
  ONE_WAY_WINDOW,
  RING_PUBLISH_EVERY,
  RING_SPIN_POLLS,
  ROUND_TRIP_WINDOW,
  type BenchWorkerData,
} from './protocol.js';

const data = workerData as BenchWorkerData;
const control = new Int32Array(data.controlSab);
const payload = new Uint8Array(data.messageBytes).fill(0xa5);
/** Folded from the received bytes, so the receivers cannot skip reading them. */
let sink = 0;

/** Runs `batch(n)` for every kGo bump, forever (the harness terminates the worker). */
async function serveBatches(batch: (n: number) => void | Promise<void>): Promise<never> {
  let go = Atomics.load(control, kGoIndex);
  bump(control, kReadyIndex);
  for (;;) {
    go = await changed(control, kGoIndex, go);
    await batch(Atomics.load(control, kBatchIndex));
  }
}

function ready(): void {
  bump(control, kReadyIndex);
}

// ------------------------------------------------------------------------------------ ring

function ringProducer(ring: SpscRing): Promise<never> {
  return serveBatches((n) => {
    for (let i = 1; i <= n; i++) {
      while (!ring.tryWrite(payload)) ring.waitForSpace(payload.length);
      if (i % RING_PUBLISH_EVERY === 0) ring.publish();
    }
    ring.publish();
  });
}

/** Polls `ring` forever, spinning then sleeping on its doorbell; `after(n)` follows each poll that got n > 0. */
async function ringLoop(
  ring: SpscRing,
  handler: (b: Uint8Array, o: number, l: number) => void,
  after: (n: number) => void,
): Promise<never> {
  const isEmpty = (): boolean => ring.isEmpty();
  for (let idle = 0; ;) {
    const n = ring.poll(handler);
    if (n > 0) {
      after(n);
      idle = 0;
    } else if (++idle >= RING_SPIN_POLLS) {
      idle = 0;
      await ring.doorbell.wait(isEmpty);
    }
  }
}

function ringConsumer(ring: SpscRing): Promise<never> {
  let received = 0;
  let target = 0;
  ready();
  return ringLoop(
    ring,
    (bytes, offset) => {
      sink = (sink + bytes[offset]!) | 0;
    },
    (n) => {
      received += n;
      if (received >= target) {
        target = Atomics.load(control, kTargetIndex);
        if (received === target) bump(control, kDoneIndex);
      }
    },
  );
}

function ringClient(forward: SpscRing, backward: SpscRing): Promise<never> {
  const handler = (bytes: Uint8Array, offset: number): void => {
    sink = (sink + bytes[offset]!) | 0;
  };
  const isEmpty = (): boolean => backward.isEmpty();
  return serveBatches(async (n) => {
    let sent = 0;
    let received = 0;
    for (let idle = 0; received < n;) {
      while (sent < n && sent - received < ROUND_TRIP_WINDOW && forward.tryWrite(payload)) sent++;
      forward.publish();
      const replies = backward.poll(handler);
      received += replies;
      if (replies > 0) idle = 0;
      else if (++idle >= RING_SPIN_POLLS) {
        idle = 0;
        await backward.doorbell.wait(isEmpty);
      }
    }
    bump(control, kDoneIndex);
  });
}

function ringEcho(forward: SpscRing, backward: SpscRing): Promise<never> {
  const out = backward.bytes;
  ready();
  return ringLoop(
    forward,
    (bytes, offset, length) => {
      const at = backward.reserve(length);
      if (at < 0)
        throw new Error(
          `echo: backward ring full (capacity ${backward.capacityBytes}, window ${ROUND_TRIP_WINDOW})`,
        );
      if (length <= 64) for (let i = 0; i < length; i++) out[at + i] = bytes[offset + i]!;
      else out.set(bytes.subarray(offset, offset + length), at);
      backward.commit();
    },
    () => backward.publish(),
  );
}

// ----------------------------------------------------------------------------- postMessage

function pmProducer(port: MessagePort): Promise<never> {
  let sent = 0;
  let acked = 0;
  let wakeProducer: (() => void) | undefined;
  port.on('message', (count: number) => {
    acked = count;
    wakeProducer?.();
  });
  return serveBatches(async (n) => {
    for (const end = sent + n; sent < end;) {
      while (sent < end && sent - acked < ONE_WAY_WINDOW) {
        port.postMessage(payload);
        sent++;
      }
      if (sent < end) await new Promise<void>((resolve) => (wakeProducer = resolve));
    }
  });
}

function pmConsumer(port: MessagePort): void {
  let received = 0;
  port.on('message', (message: Uint8Array) => {
    sink = (sink + message[0]!) | 0;
    received++;
    if (received % ONE_WAY_CREDIT_EVERY === 0) port.postMessage(received);
    if (received === Atomics.load(control, kTargetIndex)) bump(control, kDoneIndex);
  });
  ready();
}

function pmClient(port: MessagePort): Promise<never> {
  let onReply: () => void = () => {};
  port.on('message', (message: Uint8Array) => {
    sink = (sink + message[0]!) | 0;
    onReply();
  });
  return serveBatches(
    (n) =>
      new Promise<void>((resolve) => {
        let sent = 0;
        let received = 0;
        onReply = () => {
          if (++received === n) {
            bump(control, kDoneIndex);
            resolve();
          } else if (sent < n) {
            port.postMessage(payload);
            sent++;
          }
        };
        for (; sent < Math.min(n, ROUND_TRIP_WINDOW); sent++) port.postMessage(payload);
      }),
  );
}

function pmEcho(port: MessagePort): void {
  port.on('message', (message: Uint8Array) => port.postMessage(message));
  ready();
}

// --------------------------------------------------------------------------------- comlink

interface Callee {
  echo(payload: Uint8Array): Uint8Array;
  count(payload: Uint8Array): void;
}

function comlinkCallee(port: MessagePort): void {
  let received = 0;
  const callee: Callee = {
    echo: (message) => message,
    count: (message) => {
      sink = (sink + message[0]!) | 0;
      if (++received === Atomics.load(control, kTargetIndex)) bump(control, kDoneIndex);
    },
  };
  Comlink.expose(callee, port);
  ready();
}

function comlinkCaller(port: MessagePort, direction: BenchWorkerData['direction']): Promise<never> {
  const remote = Comlink.wrap<Callee>(port);
  if (direction === 'one-way') {
    const unresolved: Promise<void>[] = [];
    return serveBatches(async (n) => {
      for (let i = 0; i < n; i++) {
        if (unresolved.length >= ONE_WAY_WINDOW) await unresolved.shift();
        unresolved.push(remote.count(payload));
      }
      await Promise.all(unresolved.splice(0));
    });
  }
  return serveBatches(async (n) => {
    let issued = 0;
    const lane = async (): Promise<void> => {
      while (issued < n) {
        issued++;
        const reply = await remote.echo(payload);
        sink = (sink + reply[0]!) | 0;
      }
    };
    await Promise.all(Array.from({ length: Math.min(n, ROUND_TRIP_WINDOW) }, lane));
    bump(control, kDoneIndex);
  });
}

// ------------------------------------------------------------------------------------ main

function start(): void {
  const { transport, direction, role } = data;
  const driver = role === 'driver';
  if (transport === 'ring') {
    const forward = new SpscRing(data.forwardRing!);
    if (direction === 'one-way') void (driver ? ringProducer(forward) : ringConsumer(forward));
    else {
      const backward = new SpscRing(data.backwardRing!);
      void (driver ? ringClient(forward, backward) : ringEcho(forward, backward));
    }
    return;
  }
  const port = data.port!;
  if (transport === 'postMessage') {
    if (direction === 'one-way') void (driver ? pmProducer(port) : pmConsumer(port));
    else void (driver ? pmClient(port) : pmEcho(port));
    return;
  }
  if (driver) void comlinkCaller(port, direction);
  else comlinkCallee(port);
}

parentPort?.on('message', (message: unknown) => {
  if (message === 'sink') parentPort?.postMessage(sink);
});
start();
