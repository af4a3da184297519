import type { Command, OptionValues } from '../cli/command.js';
import { intFlag } from '../cli/flags.js';
import { formatNumber, machineLine, makeDocument, markdownTable } from '../report/document.js';
import { DEMO_DEFAULTS, MAX_HOPS, type DemoConfig } from '../demo/config.js';
import type { DemoProgress, DemoResult } from '../demo/run-demo.js';

const MIN_ACTORS = 2;
const MAX_ACTORS = 16;
const MAX_CLIENTS = 16;
const MIN_DURATION_MS = 300;
const MAX_DURATION_MS = 600_000;

function parseConfig(values: OptionValues): DemoConfig {
  return {
    actors: intFlag(values, 'actors', 4, MIN_ACTORS, MAX_ACTORS),
    clients: intFlag(values, 'clients', 2, 1, MAX_CLIENTS),
    durationMs: intFlag(values, 'duration-ms', 3000, MIN_DURATION_MS, MAX_DURATION_MS),
    hops: intFlag(values, 'hops', 3, 0, MAX_HOPS),
    ...DEMO_DEFAULTS,
  };
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'actors in worker threads exchanging messages over rings, one crashed and restarted mid-run',
  usage: [
    `  --actors N        gossip actors, one worker thread each (${MIN_ACTORS}..${MAX_ACTORS}, default 4)`,
    `  --clients N       closed-loop clients, one piscina thread each (1..${MAX_CLIENTS}, default 2)`,
    `  --duration-ms N   how long the clients send (${MIN_DURATION_MS}..${MAX_DURATION_MS}, default 3000)`,
    `  --hops N          actor-to-actor hops per request before the reply (0..${MAX_HOPS}, default 3)`,
    '  --json            print one JSON document on stdout instead of the summary',
  ].join('\n'),
  options: {
    actors: { type: 'string' },
    clients: { type: 'string' },
    'duration-ms': { type: 'string' },
    hops: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const config = parseConfig(values);
    // Loaded here, not at the top: `heal` must not start the actor runtime's imports for other commands.
    const { runDemo } = await import('../demo/run-demo.js');
    const progress = progressLine(config);
    let result: DemoResult;
    try {
      result = await runDemo(config, progress.update);
    } finally {
      progress.done();
    }
    const doc = makeDocument('demo', { ...config }, [result]);
    if (values['json'] === true) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else process.stdout.write(`${summary(config, result, machineLine(doc.machine))}\n`);
    if (result.replies === 0) {
      process.stderr.write('heal demo: no request was answered\n');
      return 1;
    }
    return 0;
  },
};

/** A one-line indicator rewritten in place on a terminal; nothing when stderr is not one. */
function progressLine(config: DemoConfig): { update?: (p: DemoProgress) => void; done: () => void } {
  const stderr = process.stderr;
  if (!stderr.isTTY) return { done: () => {} };
  stderr.write(`demo: starting ${config.actors} actors and ${config.clients} clients...`);
  return {
    update: (p) => {
      const down = p.down.length > 0 ? `  actor ${p.down.join(', ')} down` : '';
      const clock = p.elapsedMs < 0 ? 'warming up' : `${(p.elapsedMs / 1000).toFixed(1)}/${(config.durationMs / 1000).toFixed(1)} s`;
      const line = `demo: ${clock}  ` +
        `${formatNumber(p.replies)} replies  ${formatNumber(p.timeouts)} timeouts${down}`;
      stderr.write(`\r\x1b[2K${line}`);
    },
    done: () => stderr.write('\r\x1b[2K'),
  };
}

const SPARKS = '▁▂▃▄▅▆▇█';

function sparkline(counts: readonly number[]): string {
  const max = Math.max(1, ...counts);
  return counts.map((n) => (n === 0 ? '_' : SPARKS[Math.min(SPARKS.length - 1, Math.floor((n / max) * SPARKS.length))])).join('');
}

function plural(n: number, noun: string): string {
  return `${formatNumber(n)} ${noun}${n === 1 ? '' : 's'}`;
}

function kib(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${formatNumber(bytes / 1024)} KiB`;
}

function summary(config: DemoConfig, r: DemoResult, machine: string): string {
  const victim = r.crash.actor;
  const actorTable = markdownTable(
    ['actor', 'incarnations', 'handled', 'sent', `handled while ${victim} down`, 'forwarded', 'replied', 'rerouted', 'suspicions'],
    r.actors.map((a) => [
      a.actor, a.incarnations, a.handled, a.sent, a.actor === victim ? '(down)' : a.handledDuringOutage,
      a.forwarded, a.replied, a.rerouted, a.suspicions,
    ]),
  );
  const windowTable = markdownTable(
    ['window', 'from ms', 'to ms', 'buckets', 'replies / 100 ms (mean)', 'min', 'timeouts'],
    r.windows.map((w) => [w.window, w.fromMs, w.toMs, w.buckets, w.meanRepliesPerBucket, w.minRepliesPerBucket, w.timeouts]),
  );
  const crashBucket = Math.floor(r.crash.crashAtMs / config.bucketMs);
  const restartBucket = Math.floor(r.crash.restartedAtMs / config.bucketMs);
  const markers = Array.from({ length: r.repliesPer100Ms.length }, (_, b) =>
    b === crashBucket ? 'x' : b === restartBucket ? '^' : ' ').join('').trimEnd();
  const totalThreads = r.threads.actors + r.threads.loadGenerators + r.threads.main;
  const codecErrors = r.actors.reduce((a, x) => a + x.codecErrors, 0);
  const drops = r.actors.reduce((a, x) => a + x.backlogDrops, 0);
  return [
    `HEAL demo: ${config.actors} gossip actors in worker threads, ${config.clients} closed-loop clients ` +
      `(piscina tasks, ${config.window} requests in flight each), ${config.hops} hops per request, ` +
      `${formatNumber(config.durationMs)} ms measured after ${formatNumber(config.warmupMs)} ms warm-up`,
    `Machine: ${machine}`,
    '',
    actorTable,
    '',
    `Requests:   ${formatNumber(r.measuredReplies)} answered in the measured window (${formatNumber(r.requestsPerSec)} req/s); ` +
      `in all ${formatNumber(r.replies)} answered, ${formatNumber(r.timeouts)} timed out after ${config.requestTimeoutMs} ms, ` +
      `${formatNumber(r.lateReplies)} answered late`,
    `Round trip: p50 ${formatNumber(r.p50Us)} µs, p99 ${formatNumber(r.p99Us)} µs (client -> ${plural(config.hops + 1, 'actor')} -> client)`,
    `Crash:      actor ${victim} crashed at ${formatNumber(r.crash.crashAtMs)} ms, restarted at ` +
      `${formatNumber(r.crash.restartCalledAtMs)} ms (new worker up in ${formatNumber(r.crash.restartMs)} ms)`,
    '',
    windowTable,
    '',
    `Replies per 100 ms (x: crash, ^: restarted actor up again):`,
    `  ${sparkline(r.repliesPer100Ms)}`,
    `  ${markers}`,
    '',
    `Threads:    ${plural(r.threads.actors, 'actor')} + ${plural(r.threads.loadGenerators, 'load generator')} + main = ${totalThreads} ` +
      `on ${machine.split(' ')[0]} CPUs`,
    `Rings:      ${r.rings} SPSC rings of ${kib(r.ringBytes)} in SharedArrayBuffers (${kib(r.sharedRingMemoryBytes)} in all); ` +
      `control plane comlink, data plane rings only`,
    `Health:     ${codecErrors} codec errors, ${drops} messages dropped on full links; ` +
      `heartbeats every ${config.beatMs} ms, suspect after ${config.suspectAfterMs} ms`,
  ].join('\n');
}
