/**
 * A labelled corpus of small histories, good and bad, in the spirit of Porcupine's test data.
 * Each entry says whether it is linearizable and, when not, which key fails.
 */
import type { History } from '../../src/index.js';
import { get, history, put } from './helpers.js';

export interface CorpusEntry {
  readonly name: string;
  readonly linearizable: boolean;
  /** For a bad entry: the smallest failing key. */
  readonly failingKey?: string;
  readonly history: History;
}

export const CORPUS: readonly CorpusEntry[] = [
  { name: 'empty history', linearizable: true, history: history() },
  { name: 'read of an absent key', linearizable: true, history: history(get(0, 'k', null, 0, 1)) },
  {
    name: 'sequential put then get',
    linearizable: true,
    history: history(put(0, 'k', 'a', 0, 10), get(1, 'k', 'a', 20, 30)),
  },
  {
    name: 'stale read: a read after a completed overwrite returns the old value',
    linearizable: false,
    failingKey: 'k',
    history: history(put(0, 'k', 'a', 0, 10), put(0, 'k', 'b', 20, 30), get(1, 'k', 'a', 40, 50)),
  },
  {
    name: 'lost update: two completed puts, then reads see one and then the other',
    linearizable: false,
    failingKey: 'k',
    history: history(
      put(0, 'k', 'a', 0, 10),
      put(1, 'k', 'b', 0, 10),
      get(2, 'k', 'b', 20, 30),
      get(2, 'k', 'a', 40, 50),
    ),
  },
  {
    name: 'lost update: a completed put is never visible, reads keep seeing the older value',
    linearizable: false,
    failingKey: 'k',
    history: history(put(0, 'k', 'a', 0, 5), put(1, 'k', 'b', 10, 20), get(2, 'k', 'a', 30, 40)),
  },
  {
    name: 'read of a never-written value',
    linearizable: false,
    failingKey: 'k',
    history: history(put(0, 'k', 'a', 0, 10), get(1, 'k', 'zzz', 5, 15)),
  },
  {
    name: 'read of absent after a completed put',
    linearizable: false,
    failingKey: 'k',
    history: history(put(0, 'k', 'a', 0, 10), get(1, 'k', null, 11, 12)),
  },
  {
    name: 'concurrent puts, reads agree on one order',
    linearizable: true,
    history: history(
      put(0, 'k', 'a', 0, 10),
      put(1, 'k', 'b', 0, 10),
      get(2, 'k', 'a', 20, 30),
      get(3, 'k', 'a', 35, 40),
    ),
  },
  {
    name: 'a read concurrent with a put may see either value (old)',
    linearizable: true,
    history: history(put(0, 'k', 'a', 0, 10), put(1, 'k', 'b', 20, 40), get(2, 'k', 'a', 25, 30)),
  },
  {
    name: 'a read concurrent with a put may see either value (new)',
    linearizable: true,
    history: history(put(0, 'k', 'a', 0, 10), put(1, 'k', 'b', 20, 40), get(2, 'k', 'b', 25, 30)),
  },
  {
    name: 'new-then-old inversion between two sequential reads during one put',
    linearizable: false,
    failingKey: 'k',
    history: history(
      put(0, 'k', 'a', 0, 10),
      put(1, 'k', 'b', 20, 100),
      get(2, 'k', 'b', 30, 40),
      get(2, 'k', 'a', 50, 60),
    ),
  },
  {
    name: 'pending put that takes effect late (after every other operation returned)',
    linearizable: true,
    history: history(
      put(0, 'k', 'a', 0, 10),
      put(1, 'k', 'b', 5, null),
      get(2, 'k', 'a', 20, 30),
      get(2, 'k', 'a', 40, 50),
      get(3, 'k', 'b', 60, 70),
    ),
  },
  {
    name: 'pending put that never takes effect',
    linearizable: true,
    history: history(put(0, 'k', 'a', 0, 10), put(1, 'k', 'b', 5, null), get(2, 'k', 'a', 20, 30)),
  },
  {
    name: 'pending put cannot take effect before its call',
    linearizable: false,
    failingKey: 'k',
    history: history(get(0, 'k', 'b', 0, 10), put(1, 'k', 'b', 20, null)),
  },
  {
    name: 'pending put takes effect at most once',
    linearizable: false,
    failingKey: 'k',
    history: history(
      put(0, 'k', 'a', 0, 1),
      put(1, 'k', 'b', 2, null),
      get(2, 'k', 'b', 10, 11),
      put(3, 'k', 'c', 12, 13),
      get(2, 'k', 'b', 14, 15),
    ),
  },
  {
    name: 'pending get constrains nothing',
    linearizable: true,
    history: history(put(0, 'k', 'a', 0, 10), get(1, 'k', 'nonsense', 20, null)),
  },
  {
    name: '"" and "null" are values, distinct from absent and from each other',
    linearizable: true,
    history: history(
      get(0, 'k', null, 0, 1),
      put(0, 'k', '', 2, 3),
      get(0, 'k', '', 4, 5),
      put(0, 'k', 'null', 6, 7),
      get(0, 'k', 'null', 8, 9),
    ),
  },
  {
    name: 'a put of "null" does not make the key absent',
    linearizable: false,
    failingKey: 'k',
    history: history(put(0, 'k', 'null', 0, 1), get(1, 'k', null, 2, 3)),
  },
  {
    name: 'a put of "" is not the string "null"',
    linearizable: false,
    failingKey: 'k',
    history: history(put(0, 'k', '', 0, 1), get(1, 'k', 'null', 2, 3)),
  },
  {
    name: 'equal ticks are concurrent: a read calling at the tick a put returns may see the old value',
    linearizable: true,
    history: history(put(0, 'k', 'a', 0, 4), put(1, 'k', 'b', 5, 20), get(2, 'k', 'a', 20, 25)),
  },
  {
    name: 'one tick later the put precedes the read',
    linearizable: false,
    failingKey: 'k',
    history: history(put(0, 'k', 'a', 0, 4), put(1, 'k', 'b', 5, 20), get(2, 'k', 'a', 21, 25)),
  },
  {
    name: 'equal ticks are concurrent: a put calling at the tick another returns may go first',
    linearizable: true,
    history: history(put(0, 'k', 'a', 0, 10), put(1, 'k', 'b', 10, 20), get(2, 'k', 'a', 21, 25)),
  },
  {
    name: 'keys are independent registers',
    linearizable: true,
    history: history(
      put(0, 'x', 'a', 0, 10),
      put(1, 'y', 'b', 0, 10),
      get(2, 'x', 'a', 20, 30),
      get(3, 'y', 'b', 20, 30),
    ),
  },
  {
    name: 'the smallest failing key is reported',
    linearizable: false,
    failingKey: 'small',
    history: history(
      put(0, 'big', 'a', 0, 1),
      put(0, 'big', 'b', 2, 3),
      get(0, 'big', 'a', 4, 5),
      get(1, 'small', 'x', 0, 1),
      put(2, 'ok', 'v', 0, 1),
    ),
  },
  {
    name: 'a dead put must still fit in its interval',
    linearizable: false,
    failingKey: 'k',
    history: history(put(0, 'k', 'a', 0, 1), put(1, 'k', 'dead', 2, 3), get(2, 'k', 'a', 4, 5)),
  },
  {
    name: 'a dead put hides behind a concurrent put',
    linearizable: true,
    history: history(
      put(0, 'k', 'a', 0, 1),
      put(1, 'k', 'dead', 2, 10),
      put(2, 'k', 'b', 3, 10),
      get(3, 'k', 'b', 11, 12),
    ),
  },
  {
    name: 'repeated values: two puts of one value serve reads on both sides of another put',
    linearizable: true,
    history: history(
      put(0, 'k', 'a', 0, 1),
      get(1, 'k', 'a', 2, 3),
      put(0, 'k', 'b', 4, 5),
      get(1, 'k', 'b', 6, 7),
      put(0, 'k', 'a', 8, 9),
      get(1, 'k', 'a', 10, 11),
    ),
  },
];
