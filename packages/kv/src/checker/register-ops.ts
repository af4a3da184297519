/** What a register search takes (one key's operations, a budget) and what it finds. */

/** The prepared operations of one key, sorted by call. Values are interned: 0 is absent. */
export interface RegisterOps {
  /** Number of operations (pending gets and unread pending puts already dropped). */
  readonly count: number;
  readonly isPut: Uint8Array;
  /** put: value written; get: value read (0 = absent). */
  readonly valueId: Int32Array;
  readonly call: Float64Array;
  /** +Infinity for a pending put. */
  readonly ret: Float64Array;
}

export interface SearchBudget {
  /** Stop with `unknown` after this many steps. */
  readonly maxSteps: number;
  /** Checked every `BUDGET_CHECK_STEPS` steps; true stops with `unknown`. */
  readonly expired: () => boolean;
}

export const BUDGET_CHECK_STEPS = 1024;

export type SearchResult =
  | { readonly verdict: 'ok'; readonly steps: number }
  | { readonly verdict: 'unknown'; readonly steps: number }
  | {
      readonly verdict: 'illegal';
      readonly steps: number;
      /** Longest linearizable prefix found (operation indices in linearization order). */
      readonly prefix: readonly number[];
      /** The operation that had to be linearized next and could not be. */
      readonly stuck: number;
      /** Register state (value id, 0 absent) after the prefix. */
      readonly stateAfterPrefix: number;
    };
