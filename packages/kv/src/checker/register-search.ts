/**
 * The search for one key (one register): Wing-Gong/Lowe just-in-time linearization, as in
 * Porcupine's `checkSingle`, over typed arrays. Owned by one call; deterministic.
 *
 * Events of completed operations (calls and returns) sit in a doubly linked list in time
 * order; calls come before returns at equal ticks (equal ticks are concurrent). The search
 * linearizes ("lifts") an operation whose call comes before the first return F left in the
 * list, and backtracks when no choice is left. It succeeds when no return is left.
 *
 * Pending puts (no response) are tokens, not list entries: a token of value v can be used once,
 * at any time after its call. Callable unused tokens of one value are interchangeable (nothing
 * must follow them), so only the earliest unused one is ever used, and only for a callable get
 * that reads v (otherwise taking effect could only hide values).
 *
 * Moves taken without trying alternatives (a completion existing without the move implies one
 * with it), so their frames are never re-explored on backtracking:
 * - a get that matches the register (reads commute);
 * - a dead put (no get left to linearize reads its value) when some put was linearized since
 *   the dead put's call: it goes just before that put, where nobody sees it ("retro").
 * Otherwise a dead put is tried only when its return is F (it must take effect now); the
 * register then holds DEAD, a value no remaining get reads.
 *
 * Memoisation: the linearized set L is exactly (F, S, tokens used), where every completed
 * operation returning before F is in L and S is the set of lifted operations returning after F
 * (at most those open at F: small even when a key has 100k operations). The future of a
 * configuration depends only on the key tuple (F, state, putF, S, used tokens of values still
 * read), where putF is the F at which the latest state-changing put was lifted (the retro rule
 * depends on it), canonicalised; the memo holds these tuples exactly (no hash-only equality).
 */
import assert from 'node:assert/strict';
import { DenseSet } from './dense-set.js';
import { EventList } from './event-list.js';
import { linearizationOrder } from './linearization-order.js';
import { insertSorted, TupleSet } from './memo.js';
import {
  BUDGET_CHECK_STEPS,
  type RegisterOps,
  type SearchBudget,
  type SearchResult,
} from './register-ops.js';

/** The register state after a put whose value no remaining get reads. */
const DEAD = -1;
/** `resume` value: the configuration has no choices left to try. */
const NO_CHOICES = Number.MAX_SAFE_INTEGER;

/** Checks one register history. */
export function searchRegister(ops: RegisterOps, budget: SearchBudget): SearchResult {
  return new Search(ops).run(budget);
}

class Search {
  private readonly m: number;
  /** The completed operations' events still in the list (not lifted). */
  private readonly list: EventList;
  private readonly isPending: Uint8Array;
  /** Node of the first return left in the list (`tail` when none). */
  private curF: number;
  /** Lifted completed operations whose return node is after curF. */
  private readonly s: DenseSet;
  /** Per value id: gets not yet lifted that read it. */
  private readonly readsLeft: Int32Array;
  /** Per value id: `stamp` when a callable get reads it (see `orderPuts`). */
  private readonly wanted: Int32Array;
  private stamp = 0;
  /** Pending puts by value: value v owns tokens[tokenStart[v] .. tokenStart[v + 1]). */
  private readonly tokens: Int32Array;
  private readonly tokenStart: Int32Array;
  private readonly tokensUsed: Int32Array;
  /** Values with used tokens and gets left: the token part of the memo key. */
  private readonly tokenValues: DenseSet;
  private readonly scratch: Int32Array;
  private readonly key: Int32Array;
  private readonly memo: TupleSet;

  // The stack of lifted operations (one frame per lift).
  private depth = 0;
  private readonly stackOp: Int32Array;
  private readonly stackState: Int32Array;
  private readonly stackReal: Int32Array;
  private readonly stackF: Int32Array;
  /** Index of the choice in `orderPuts`, or -1 for a forced move. */
  private readonly stackChoice: Int32Array;
  /** putF after the frame: F at which the latest state-changing put was lifted (-1: none). */
  private readonly stackPutF: Int32Array;
  /** 1 when the frame is a retro-placed dead put (no state change). */
  private readonly stackRetro: Uint8Array;
  /** Register state: value id, 0 absent, or DEAD. */
  private state = 0;
  /** The value id actually held (DEAD resolved), for the report. */
  private real = 0;
  private steps = 0;

  // The deepest stack seen, for the report; `agree` frames of the stack equal `best`.
  private readonly best: Int32Array;
  private readonly bestRetro: Uint8Array;
  private bestLen = 0;
  private agree = 0;
  private bestStuck: number;
  private bestReal = 0;

  constructor(private readonly ops: RegisterOps) {
    const m = ops.count;
    this.m = m;
    this.isPending = new Uint8Array(m);
    let completed = 0;
    let maxValue = 0;
    for (let i = 0; i < m; i++) {
      this.isPending[i] = ops.ret[i] === Number.POSITIVE_INFINITY ? 1 : 0;
      completed += 1 - (this.isPending[i] as number);
      maxValue = Math.max(maxValue, ops.valueId[i] as number);
    }
    this.list = new EventList(ops, this.isPending, completed);
    this.s = new DenseSet(m);
    this.wanted = new Int32Array(maxValue + 1);
    this.readsLeft = new Int32Array(maxValue + 1);
    for (let i = 0; i < m; i++) if (ops.isPut[i] === 0) this.readsLeft[ops.valueId[i] as number]++;
    this.tokenStart = new Int32Array(maxValue + 2);
    this.tokensUsed = new Int32Array(maxValue + 1);
    this.tokenValues = new DenseSet(maxValue + 1);
    this.tokens = this.buildTokens();
    this.scratch = new Int32Array(m);
    this.key = new Int32Array(5 + m + 2 * (maxValue + 1));
    this.memo = new TupleSet(m);
    this.stackOp = new Int32Array(m);
    this.stackState = new Int32Array(m);
    this.stackReal = new Int32Array(m);
    this.stackF = new Int32Array(m);
    this.stackChoice = new Int32Array(m);
    this.stackPutF = new Int32Array(m);
    this.stackRetro = new Uint8Array(m);
    this.best = new Int32Array(m);
    this.bestRetro = new Uint8Array(m);
    this.curF = this.list.firstReturnFrom(this.list.next[0] as number);
    this.bestStuck = this.curF === this.list.tail ? -1 : (this.list.nodeOp[this.curF] as number);
  }

  private buildTokens(): Int32Array {
    const { m, ops } = this;
    const start = this.tokenStart;
    for (let i = 0; i < m; i++)
      if (this.isPending[i] === 1) start[(ops.valueId[i] as number) + 1]++;
    for (let v = 1; v < start.length; v++)
      start[v] = (start[v] as number) + (start[v - 1] as number);
    const tokens = new Int32Array(start[start.length - 1] as number);
    const fill = start.slice(0, start.length - 1);
    for (let i = 0; i < m; i++) {
      if (this.isPending[i] === 0) continue;
      const v = ops.valueId[i] as number;
      tokens[fill[v] as number] = i; // in call order, since operations are
      fill[v] = (fill[v] as number) + 1;
    }
    return tokens;
  }

  private countRead(v: number, delta: 1 | -1): void {
    const left = (this.readsLeft[v] as number) + delta;
    this.readsLeft[v] = left;
    if (delta < 0 && left === 0 && this.tokenValues.has(v)) this.tokenValues.remove(v);
    if (delta > 0 && left === 1 && (this.tokensUsed[v] as number) > 0) this.tokenValues.add(v);
  }

  private useToken(v: number, delta: 1 | -1): void {
    const used = (this.tokensUsed[v] as number) + delta;
    this.tokensUsed[v] = used;
    if (delta > 0 && used === 1 && (this.readsLeft[v] as number) > 0) this.tokenValues.add(v);
    if (delta < 0 && used === 0 && this.tokenValues.has(v)) this.tokenValues.remove(v);
  }

  /** Linearizes `op` (unlinks its events, or uses its token); returns the previous curF. */
  private lift(op: number): number {
    const oldF = this.curF;
    const v = this.ops.valueId[op] as number;
    if (this.isPending[op] === 1) {
      assert.equal(
        this.tokens[(this.tokenStart[v] as number) + (this.tokensUsed[v] as number)],
        op,
      );
      this.useToken(v, 1);
      return oldF;
    }
    const list = this.list;
    const r = list.retNode[op] as number;
    list.unlink(op);
    if (this.ops.isPut[op] === 0) this.countRead(v, -1);
    if (r === oldF) {
      this.curF = list.firstReturnFrom(list.next[r] as number);
      for (let x = oldF + 1; x < this.curF; x++)
        if (list.nodeIsRet[x] === 1) this.s.remove(list.nodeOp[x] as number);
    } else {
      this.s.add(op);
    }
    return oldF;
  }

  /** Undoes `lift(op)` (strictly last-in first-out). */
  private unlift(op: number, oldF: number): void {
    const v = this.ops.valueId[op] as number;
    if (this.isPending[op] === 1) {
      this.useToken(v, -1);
      return;
    }
    const list = this.list;
    if (this.curF !== oldF) {
      for (let x = oldF + 1; x < this.curF; x++)
        if (list.nodeIsRet[x] === 1) this.s.add(list.nodeOp[x] as number);
      this.curF = oldF;
    } else {
      this.s.remove(op);
    }
    if (this.ops.isPut[op] === 0) this.countRead(v, 1);
    list.relink(op);
  }

  /**
   * A move to take without alternatives, or -1: a callable get that reads `state`, or a dead
   * completed put called before `putF` (see the header).
   */
  private forcedMove(putF: number): number {
    const { ops } = this;
    const { next, nodeOp } = this.list;
    const f = this.curF;
    for (let n = next[0] as number; n !== f; n = next[n] as number) {
      const o = nodeOp[n] as number;
      const v = ops.valueId[o] as number;
      if (ops.isPut[o] === 0) {
        if (v === this.state) return o;
      } else if (n < putF && this.readsLeft[v] === 0) {
        return o;
      }
    }
    return -1;
  }

  /**
   * Writes the puts that may be linearized next into `out`, best first: those whose value the
   * get of F reads (completed puts, then a token), those whose value another callable get reads
   * (same order), the put of F, then the other live puts in call order. Dead puts other than
   * F's are left out (see the header). Deterministic in the configuration, so backtracking
   * recomputes it and resumes at the next index.
   */
  private orderPuts(out: Int32Array): number {
    const { ops } = this;
    const { next, nodeOp, retNode } = this.list;
    const stamp = ++this.stamp;
    const f = this.curF;
    const fOp = nodeOp[f] as number;
    const fWants = ops.isPut[fOp] === 0 ? (ops.valueId[fOp] as number) : -1;
    const fTime = ops.ret[fOp] as number;
    let tokenCount = 0;
    for (let n = next[0] as number; n !== f; n = next[n] as number) {
      const o = nodeOp[n] as number;
      const v = ops.valueId[o] as number;
      if (ops.isPut[o] === 1 || this.wanted[v] === stamp) continue;
      this.wanted[v] = stamp;
      const t = this.nextToken(v, fTime);
      if (t >= 0) this.scratch[tokenCount++] = t;
    }
    let len = 0;
    for (let tier = 0; tier < 4; tier++) {
      for (let n = next[0] as number; n !== f; n = next[n] as number) {
        const o = nodeOp[n] as number;
        if (ops.isPut[o] === 0) continue;
        const v = ops.valueId[o] as number;
        if (this.readsLeft[v] === 0 && retNode[o] !== f) continue;
        const t = v === fWants ? 0 : this.wanted[v] === stamp ? 1 : retNode[o] === f ? 2 : 3;
        if (t === tier) out[len++] = o;
      }
      for (let k = 0; tier < 2 && k < tokenCount; k++) {
        const o = this.scratch[k] as number;
        if ((ops.valueId[o] === fWants) === (tier === 0)) out[len++] = o;
      }
    }
    return len;
  }

  /** The earliest unused pending put of value `v`, if called by `time`; else -1. */
  private nextToken(v: number, time: number): number {
    const at = (this.tokenStart[v] as number) + (this.tokensUsed[v] as number);
    if (at >= (this.tokenStart[v + 1] as number)) return -1;
    const o = this.tokens[at] as number;
    return (this.ops.call[o] as number) <= time ? o : -1;
  }

  /** Writes the memo key of the current configuration into `this.key`; returns its length. */
  private buildKey(putF: number): number {
    const { key, s, tokenValues } = this;
    const st = this.state;
    key[0] = this.curF;
    key[1] = st !== DEAD && this.readsLeft[st] === 0 ? DEAD : st;
    key[2] = this.canonicalPutF(putF);
    key[3] = s.size;
    let len = 4;
    for (let i = 0; i < s.size; i++) len = insertSorted(key, 4, len, s.items[i] as number);
    const start = len;
    for (let i = 0; i < tokenValues.size; i++)
      len = insertSorted(key, start, len, tokenValues.items[i] as number);
    for (let i = len - 1; i >= start; i--) {
      const v = key[i] as number;
      key[start + 2 * (i - start)] = v;
      key[start + 2 * (i - start) + 1] = this.tokensUsed[v] as number;
    }
    return start + 2 * (len - start);
  }

  /**
   * putF only matters through which unlifted puts are called before it (the retro rule), and
   * those are all in the list: the node after the last such call stands for every equal putF.
   */
  private canonicalPutF(putF: number): number {
    const { next, nodeOp, tail } = this.list;
    let last = -1;
    for (let n = next[0] as number; n < putF && n !== tail; n = next[n] as number) {
      if (this.ops.isPut[nodeOp[n] as number] === 1) last = n;
    }
    return last < 0 ? -1 : last + 1;
  }

  /** Lifts `op` as a new frame; false (and undone) when the configuration was seen before. */
  private tryLift(op: number, choice: number): boolean {
    this.steps++;
    const d = this.depth;
    const isPut = this.ops.isPut[op] === 1;
    const lastPutF = d === 0 ? -1 : (this.stackPutF[d - 1] as number);
    const retro = isPut && choice < 0;
    const v = this.ops.valueId[op] as number;
    const prevState = this.state;
    const oldF = this.lift(op);
    const putF = isPut && !retro ? oldF : lastPutF;
    if (isPut && !retro) this.state = this.readsLeft[v] === 0 ? DEAD : v;
    if (!this.memo.insertIfAbsent(this.key, this.buildKey(putF))) {
      this.state = prevState;
      this.unlift(op, oldF);
      return false;
    }
    this.stackOp[d] = op;
    this.stackState[d] = prevState;
    this.stackReal[d] = this.real;
    this.stackF[d] = oldF;
    this.stackChoice[d] = choice;
    this.stackRetro[d] = retro ? 1 : 0;
    this.stackPutF[d] = putF;
    this.depth = d + 1;
    if (isPut && !retro) this.real = v;
    this.noteProgress(d, op);
    return true;
  }

  /** Keeps `best` equal to the deepest stack seen (copying only the frames that differ). */
  private noteProgress(d: number, op: number): void {
    if (this.agree === d && d < this.bestLen && this.best[d] === op) this.agree = d + 1;
    if (this.depth <= this.bestLen) return;
    for (let i = this.agree; i < this.depth; i++) {
      this.best[i] = this.stackOp[i] as number;
      this.bestRetro[i] = this.stackRetro[i] as number;
    }
    this.bestLen = this.depth;
    this.agree = this.depth;
    this.bestStuck = this.curF === this.list.tail ? -1 : (this.list.nodeOp[this.curF] as number);
    this.bestReal = this.real;
  }

  /** Pops frames until one with untried choices; returns the index to resume at, or -1. */
  private backtrack(): number {
    while (this.depth > 0) {
      const d = --this.depth;
      if (this.agree > d) this.agree = d;
      this.unlift(this.stackOp[d] as number, this.stackF[d] as number);
      this.state = this.stackState[d] as number;
      this.real = this.stackReal[d] as number;
      const choice = this.stackChoice[d] as number;
      if (choice >= 0) return choice + 1;
    }
    return -1;
  }

  run(budget: SearchBudget): SearchResult {
    const order = new Int32Array(this.m);
    let nextBudgetCheck = BUDGET_CHECK_STEPS;
    let resume = -1; // next index in `order` to try; -1: the configuration is fresh
    for (;;) {
      if (this.steps >= nextBudgetCheck || this.steps >= budget.maxSteps) {
        nextBudgetCheck = this.steps + BUDGET_CHECK_STEPS;
        if (this.steps >= budget.maxSteps || budget.expired())
          return { verdict: 'unknown', steps: this.steps };
      }
      if (resume < 0) {
        if (this.curF === this.list.tail) return { verdict: 'ok', steps: this.steps };
        const forced = this.forcedMove(
          this.depth === 0 ? -1 : (this.stackPutF[this.depth - 1] as number),
        );
        if (forced >= 0 && this.tryLift(forced, -1)) continue;
        // A forced move into a configuration seen before: this one fails too.
        resume = forced >= 0 ? NO_CHOICES : 0;
      }
      const len = resume === NO_CHOICES ? 0 : this.orderPuts(order);
      let advanced = false;
      for (let k = resume; k < len && !advanced; k++)
        advanced = this.tryLift(order[k] as number, k);
      if (advanced) {
        resume = -1;
        continue;
      }
      resume = this.backtrack();
      if (resume < 0) {
        const prefix = linearizationOrder(this.best, this.bestRetro, this.bestLen, this.ops.isPut);
        return {
          verdict: 'illegal',
          steps: this.steps,
          prefix,
          stuck: this.bestStuck,
          stateAfterPrefix: this.bestReal,
        };
      }
    }
  }
}
