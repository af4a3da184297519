import { createRequire } from 'node:module';
import type HeapModule from 'mnemonist/heap.js';
import type { Event } from './sim-types.js';

// mnemonist's subpaths are CommonJS only; its ES root would load all of it (see trace.ts).
const Heap = createRequire(import.meta.url)('mnemonist/heap.js') as typeof HeapModule.default;

/**
 * The simulation's pending events by time; events at equal times leave in the order they were
 * pushed, which is what makes a run a function of (seed, scenario).
 */
export class EventQueue {
  readonly #heap = new Heap<Event>((a, b) => a.at - b.at || a.seq - b.seq);
  #seq = 0;

  push(event: Event): void {
    event.seq = this.#seq++;
    this.#heap.push(event);
  }

  pop(): Event | undefined {
    return this.#heap.pop();
  }

  /** When the next event is due (Infinity when there is none). */
  nextAt(): number {
    return this.#heap.peek()?.at ?? Infinity;
  }
}
