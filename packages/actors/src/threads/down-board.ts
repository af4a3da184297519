import assert from 'node:assert/strict';
import type { ActorId } from '../actor.js';

/** A word holds 1 + the last incarnation that ended (0: none). */
function endedOn(words: Int32Array, id: ActorId, incarnation: number): boolean {
  return Atomics.load(words, id) > incarnation;
}

/**
 * Which actor incarnations have ended, in shared memory: the thread runtime's counterpart of a
 * kernel resetting a dead process's connections. When an actor's worker exits (a crash or a
 * stop), the runtime records it here and rings every other actor; each host reports it to its
 * actor (`Actor.peerDown`) in its next round. A hung or cut-off actor ends nothing: only its
 * silence tells.
 *
 * Layout (Int32): `[0, actors)`: per actor, 1 + the last incarnation that ended (0: none);
 * `[actors]`: a version bumped at every record, so a host's check is one load when nothing changed.
 */
export class DownBoard {
  readonly #words: Int32Array;
  readonly actors: number;

  static create(actors: number): DownBoard {
    assert(
      Number.isInteger(actors) && actors > 0,
      `actors must be a positive integer, got ${actors}`,
    );
    return new DownBoard(new SharedArrayBuffer((actors + 1) * Int32Array.BYTES_PER_ELEMENT));
  }

  constructor(readonly sab: SharedArrayBuffer) {
    this.#words = new Int32Array(sab);
    assert(
      this.#words.length >= 2,
      `a down board holds at least one actor, got ${sab.byteLength} bytes`,
    );
    this.actors = this.#words.length - 1;
  }

  /** The runtime: incarnation `incarnation` of `id` ended (its worker exited). */
  ended(id: ActorId, incarnation: number): void {
    assert(id >= 0 && id < this.actors, `no actor ${id} on a board of ${this.actors}`);
    assert(
      incarnation + 1 > Atomics.load(this.#words, id),
      `incarnation ${incarnation} of actor ${id} ends after a later one`,
    );
    Atomics.store(this.#words, id, incarnation + 1);
    Atomics.add(this.#words, this.actors, 1);
  }

  /** Whether incarnation `incarnation` of `id` (or a later one) ended. */
  hasEnded(id: ActorId, incarnation: number): boolean {
    return endedOn(this.#words, id, incarnation);
  }

  /** A reader's view of the board, starting from what has ended so far. */
  reader(): DownBoardReader {
    return new DownBoardReader(this.#words, this.actors);
  }
}

/** One host's position on the board: reports each ended incarnation once. */
export class DownBoardReader {
  readonly #seen: Int32Array;
  #version: number;

  constructor(
    readonly words: Int32Array,
    readonly actors: number,
  ) {
    this.#version = Atomics.load(words, actors);
    this.#seen = Int32Array.from(words.subarray(0, actors));
  }

  /** Whether incarnation `incarnation` of `id` (or a later one) ended. */
  hasEnded(id: ActorId, incarnation: number): boolean {
    return endedOn(this.words, id, incarnation);
  }

  /** Calls `down(id, incarnation)` for every incarnation ended since the last call (the latest per actor). */
  poll(down: (id: ActorId, incarnation: number) => void): void {
    const version = Atomics.load(this.words, this.actors);
    if (version === this.#version) return;
    this.#version = version;
    for (let id = 0; id < this.actors; id++) {
      const ended = Atomics.load(this.words, id);
      if (ended === this.#seen[id]) continue;
      this.#seen[id] = ended;
      down(id, ended - 1);
    }
  }
}
