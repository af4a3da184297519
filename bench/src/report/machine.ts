import os from 'node:os';

/** The machine a measurement ran on, as every report's `machine` names its fields. */
export interface Machine {
  cpus: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  os: string;
  /** V8's garbage collector: with its helper threads, or on each isolate's own thread (bin/heal.js picks). */
  gc: 'parallel' | 'single-threaded';
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: os.availableParallelism(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    gc: process.execArgv.includes('--single-threaded-gc') ? 'single-threaded' : 'parallel',
  };
}
