import {
  utf8ByteString,
  utf8Text,
  type ActorId,
  type ByteString,
  type Cancellable,
  type Endpoint,
} from '@heal/actors/core';
import type { HistoryRecorder } from '../checker/recorder.js';
import { drainMap } from '../protocol/drain-map.js';
import { getBatches } from '../protocol/get-batches.js';
import type { ClientReply, GetItem, GetOkItem, KeyTs, ViewInfoMsg } from '../protocol/messages.js';
import type { KvWire } from '../protocol/replica.js';
import type { Ts } from '../protocol/timestamp.js';
import { InFlightTable } from './in-flight-table.js';
import { KnownView } from './known-view.js';
import { KvError } from './kv-error.js';
import { ScopeWrites } from './scope-writes.js';

export interface KvClientOptions {
  /** Replica ids are 0..replicas-1. */
  replicas: number;
  /** The replica asked first (default: the client's id modulo replicas). */
  replica?: ActorId;
  timeoutMs: number;
  /** Records every operation for the linearizability checker (then one operation at a time). */
  history?: HistoryRecorder;
  /** First history client id of this client; a new one is taken after each timeout. */
  historyClient?: number;
  /**
   * Keep the latest ts of every key this session put, for `persistScope()` (default true). A
   * client that never calls it (any model but Scope) can turn this off: the map grows to every
   * key the session wrote, and keeping it cost a load generator 6% of its CPU.
   */
  scope?: boolean;
}

/** Most operations one client may have in flight (pipelining, without history). */
export const MAX_IN_FLIGHT = 4096;
/** Slots of the in-flight table: room for MAX_IN_FLIGHT with few of them spilled. */
const IN_FLIGHT_SLOTS = 2 * MAX_IN_FLIGHT;

/** `servedBy`: the replica that answered (another than the one asked when it was not serving). */
type Done = (
  err: KvError | RangeError | undefined,
  value: string | null,
  servedBy?: ActorId,
) => void;

export type ClientOp =
  | { kind: 'get'; key: string; replica?: ActorId | undefined }
  | { kind: 'put'; key: string; value: string; replica?: ActorId | undefined };

interface InFlight {
  readonly reqId: number;
  key: string;
  kind: 'get' | 'put' | 'scope';
  value: ByteString;
  /** A persist-scope request's writes. */
  items: KeyTs[] | undefined;
  replica: ActorId;
  tries: number;
  done: Done;
  deadlineMs: number;
  /** A resend scheduled after every replica said not-serving. */
  retry: Cancellable | undefined;
}

/** Pause before asking the replicas again once all of them said not-serving. */
export const NOT_SERVING_RETRY_MS = 5;
/** Timeout sweeps per timeout period. */
export const SWEEPS_PER_TIMEOUT = 4;

/** A key's UTF-8 bytes are at most 3 per UTF-16 unit. */
const keyBytesBound = (item: GetItem): number => 3 * item.key.length;

/**
 * The store's client: `get`/`put` as Promises against any replica, with a timeout. A replica
 * that does not serve (a ShadowReplica's read, a replica outside the view) answers
 * `not-serving`, and the client asks the next replica until the deadline.
 */
export class KvClient {
  readonly #endpoint: Endpoint<KvWire>;
  readonly #options: KvClientOptions;
  readonly #inFlight = new InFlightTable<InFlight>(IN_FLIGHT_SLOTS);
  #nextReqId: number;
  #historyClient: number;
  #closed = false;
  #sweep: Cancellable | undefined;
  /** The session's completed puts since the last persistScope() call. */
  readonly #scope: ScopeWrites;
  /** Inside the endpoint's handling of a batch of replies: reads issued now wait for its end. */
  #inRound = false;
  /** Reads issued in this round, by replica: one get each at the round's end. */
  readonly #roundGets = new Map<ActorId, GetItem[]>();
  /** The newest view replicas told this client of: operations go to its members. */
  readonly #view: KnownView;

  constructor(endpoint: Endpoint<KvWire>, options: KvClientOptions) {
    if (!Number.isInteger(options.replicas) || options.replicas < 1) {
      throw new RangeError(
        `KvClient: replicas must be a positive integer, got ${options.replicas}`,
      );
    }
    if (!(options.timeoutMs > 0))
      throw new RangeError(`KvClient: timeoutMs must be positive, got ${options.timeoutMs}`);
    this.#endpoint = endpoint;
    this.#options = options;
    this.#view = new KnownView(options.replicas);
    this.#scope = new ScopeWrites(options.scope !== false);
    this.#historyClient = options.historyClient ?? endpoint.self * 1_000_000;
    // Replicas drop a request id they have seen from this endpoint (duplicate delivery), so a
    // client that replaces another on the same endpoint starts above it: at its creation time in
    // microseconds (ids grow by one per operation, far slower than a microsecond each).
    this.#nextReqId = Math.max(1, Math.floor(endpoint.now() * 1000));
    endpoint.onMessage(
      (msg) => {
        this.#inRound = true;
        this.#onReply(msg as ClientReply | ViewInfoMsg);
      },
      () => this.#endRound(),
    );
  }

  get self(): ActorId {
    return this.#endpoint.self;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** The value of `key`, or null when it is absent. */
  get(key: string, replica?: ActorId): Promise<string | null> {
    return new Promise((resolve, reject) => {
      this.submit({ kind: 'get', key, replica }, (err, value) =>
        err ? reject(err) : resolve(value),
      );
    });
  }

  put(key: string, value: string, replica?: ActorId): Promise<void> {
    return new Promise((resolve, reject) => {
      this.submit({ kind: 'put', key, value, replica }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** This session's completed puts not yet covered by a persistScope() call (latest ts per key). */
  get scopeWrites(): ReadonlyMap<string, Ts> {
    return this.#scope.writes;
  }

  /**
   * Scope model: resolves when every current member has persisted each put this session
   * completed before the call (or a later ts of its key). A failed call puts its writes back
   * into the scope, so the next call covers them.
   */
  persistScope(replica?: ActorId): Promise<void> {
    return new Promise((resolve, reject) =>
      this.submitPersistScope((err) => (err ? reject(err) : resolve()), replica),
    );
  }

  /** Callback form of persistScope (`done` runs synchronously, as with `submit`). */
  submitPersistScope(
    done: (err: KvError | RangeError | undefined) => void,
    replica?: ActorId,
  ): void {
    if (this.#options.scope === false)
      return done(
        new RangeError(
          'KvClient: persistScope() needs the client option scope (it was created with scope: false)',
        ),
      );
    const chunks = this.#scope.take();
    let open = chunks.length;
    let failed = false;
    if (open === 0) return done(undefined);
    for (const chunk of chunks) {
      this.#start(
        'scope',
        '',
        '',
        replica,
        (err) => {
          if (err) {
            for (const item of chunk) this.#scope.note(item.key, item);
            if (!failed) done(err);
            failed = true;
          } else if (--open === 0 && !failed) done(undefined);
        },
        chunk,
      );
    }
  }

  /**
   * Callback form of get/put: `done` runs synchronously when the answer arrives, so drivers
   * inside the simulator (which runs no microtasks between events) can chain operations.
   */
  submit(op: ClientOp, done: Done): void {
    const held = op.kind === 'put' ? utf8ByteString(op.value) : '';
    const history = this.#options.history;
    if (!history) return this.#start(op.kind, op.key, held, op.replica, done);
    const client = this.#historyClient;
    const id =
      op.kind === 'get'
        ? history.invokeGet(client, op.key)
        : history.invokePut(client, op.key, op.value);
    this.#start(op.kind, op.key, held, op.replica, (err, value, servedBy) => {
      // A failed operation stays pending (it may have applied; a get constrains nothing) and
      // the recorder needs a fresh client id for this client's next operation.
      if (err) this.#historyClient++;
      else if (op.kind === 'get') history.returnGet(id, value);
      else history.returnPut(id);
      done(err, value, servedBy);
    });
  }

  /** Rejects everything in flight with `closed`. */
  close(): void {
    this.#closed = true;
    this.#roundGets.clear();
    this.#sweep?.cancel();
    this.#sweep = undefined;
    for (const op of this.#inFlight.takeWhere(() => true)) {
      op.retry?.cancel();
      op.done(
        new KvError('closed', `client ${this.self} closed with ${op.kind} ${op.key} in flight`),
        null,
      );
    }
  }

  #start(
    kind: InFlight['kind'],
    key: string,
    value: ByteString,
    replica: ActorId | undefined,
    done: Done,
    items?: KeyTs[],
  ): void {
    if (this.#closed) return done(new KvError('closed', `client ${this.self} is closed`), null);
    if (this.#inFlight.size >= MAX_IN_FLIGHT) {
      return done(
        new KvError('busy', `client ${this.self} has ${MAX_IN_FLIGHT} operations in flight`),
        null,
      );
    }
    const asked = replica ?? this.#options.replica ?? this.self % this.#options.replicas;
    if (!Number.isInteger(asked) || asked < 0 || asked >= this.#options.replicas) {
      return done(
        new RangeError(`replica must be in [0, ${this.#options.replicas - 1}], got ${asked}`),
        null,
      );
    }
    // A replica outside the newest view, or still a shadow in it, serves nothing: ask one that does.
    const target = this.#view.serves(asked) ? asked : this.#view.memberAfter(asked);
    const reqId = this.#nextReqId++;
    const deadlineMs = this.#endpoint.now() + this.#options.timeoutMs;
    const op: InFlight = {
      reqId,
      key,
      kind,
      value,
      items,
      replica: target,
      tries: 0,
      done,
      deadlineMs,
      retry: undefined,
    };
    this.#inFlight.add(op);
    this.#sweep ??= this.#endpoint.schedule(this.#options.timeoutMs / SWEEPS_PER_TIMEOUT, () =>
      this.#expire(),
    );
    this.#send(reqId, op);
  }

  /**
   * One timer per client, not per operation: every timeoutMs / SWEEPS_PER_TIMEOUT it fails the
   * operations past their deadline, so a timeout fires within 1 + 1/SWEEPS_PER_TIMEOUT of it.
   */
  #expire(): void {
    this.#sweep = undefined;
    const now = this.#endpoint.now();
    for (const op of this.#inFlight.takeWhere((o) => o.deadlineMs <= now)) {
      op.retry?.cancel();
      op.done(
        new KvError(
          'timeout',
          `${op.kind} ${JSON.stringify(op.key)} got no answer within ${this.#options.timeoutMs} ms (last asked replica ${op.replica}, ${op.tries} tries)`,
        ),
        null,
      );
    }
    if (this.#inFlight.size > 0) {
      this.#sweep = this.#endpoint.schedule(this.#options.timeoutMs / SWEEPS_PER_TIMEOUT, () =>
        this.#expire(),
      );
    }
  }

  #send(reqId: number, op: InFlight): void {
    op.tries++;
    const sender = this.self;
    if (op.kind === 'get') {
      const item = { reqId, key: op.key };
      if (!this.#inRound)
        this.#endpoint.send(op.replica, { kind: 'get', epoch: 0, sender, items: [item] });
      else {
        const queued = this.#roundGets.get(op.replica);
        if (queued) queued.push(item);
        else this.#roundGets.set(op.replica, [item]);
      }
    } else if (op.kind === 'put')
      this.#endpoint.send(op.replica, {
        kind: 'put',
        epoch: 0,
        sender,
        reqId,
        key: op.key,
        value: op.value,
      });
    else
      this.#endpoint.send(op.replica, {
        kind: 'persist-scope',
        epoch: 0,
        sender: this.self,
        reqId,
        items: op.items ?? [],
      });
  }

  /** The end of a batch of replies: the reads they led to go out, one get per replica (bounded). */
  #endRound(): void {
    this.#inRound = false;
    drainMap(this.#roundGets, (items, replica) => {
      for (const batch of getBatches(items, keyBytesBound)) {
        this.#endpoint.send(replica, { kind: 'get', epoch: 0, sender: this.self, items: batch });
      }
    });
  }

  #onGetOk(item: GetOkItem, servedBy: ActorId): void {
    const op = this.#inFlight.take(item.reqId);
    if (!op) return;
    op.retry?.cancel();
    op.done(undefined, item.found ? utf8Text(item.value) : null, servedBy);
  }

  /**
   * A replica installed a view: operations in flight at a replica that left it are not waited
   * for until their timeout. A read goes to a member at once (it had no effect); a put or
   * a persistScope() fails with `left-view` (it may have applied, as after a timeout).
   */
  #onView(msg: ViewInfoMsg): void {
    if (!this.#view.install(msg)) return;
    const gone = (op: InFlight): boolean => !msg.members.some((m) => m.id === op.replica);
    for (const op of this.#inFlight.takeWhere(gone)) {
      op.retry?.cancel();
      if (op.kind === 'get') {
        op.replica = this.#view.memberAfter(op.replica);
        this.#inFlight.add(op);
        this.#send(op.reqId, op);
      } else {
        op.done(
          new KvError(
            'left-view',
            `${op.kind} ${JSON.stringify(op.key)}: replica ${op.replica} left the view (epoch ${msg.epoch}) before it answered`,
          ),
          null,
        );
      }
    }
  }

  #onReply(msg: ClientReply | ViewInfoMsg): void {
    if (msg.kind === 'view') {
      this.#onView(msg);
      return;
    }
    if (msg.kind === 'get-ok') {
      for (const item of msg.items) this.#onGetOk(item, msg.sender);
      return;
    }
    const op = this.#inFlight.get(msg.reqId);
    if (!op) return;
    if (msg.kind === 'client-error' && msg.reason === 'not-serving') {
      // Definitely not applied there: ask the next replica (the deadline still holds).
      op.replica = (op.replica + 1) % this.#options.replicas;
      if (op.tries % this.#options.replicas !== 0) this.#send(msg.reqId, op);
      else
        op.retry = this.#endpoint.schedule(NOT_SERVING_RETRY_MS, () => this.#send(msg.reqId, op));
      return;
    }
    this.#inFlight.take(msg.reqId);
    op.retry?.cancel();
    switch (msg.kind) {
      case 'put-ok':
        this.#scope.note(op.key, msg);
        op.done(undefined, null, msg.sender);
        break;
      case 'persist-scope-ok':
        op.done(undefined, null);
        break;
      case 'client-error':
        op.done(
          new KvError(
            'busy',
            `${op.kind} ${JSON.stringify(op.key)}: replica ${op.replica} is overloaded`,
          ),
          null,
        );
        break;
    }
  }
}
