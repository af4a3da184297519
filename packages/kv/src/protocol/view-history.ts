import type { Member } from './view.js';

/** Views whose install time stats report (the newest), for the failure timeline. */
export const VIEW_HISTORY = 16;

/** A view as installed here, and when (this replica's clock). */
interface InstalledView {
  readonly epoch: number;
  readonly atMs: number;
  readonly members: readonly Member[];
}

/** The newest views a replica installed, and when, for the failure timeline in its stats. */
export class ViewHistory {
  readonly #views: InstalledView[] = [];

  installed(epoch: number, atMs: number, members: readonly Member[]): void {
    this.#views.push({ epoch, atMs, members });
    if (this.#views.length > VIEW_HISTORY) this.#views.shift();
  }

  /** The newest installs: epoch, time, and members as a bitmask (ids 0..63 in two words). */
  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    this.#views.forEach((v, i) => {
      let lo = 0;
      let hi = 0;
      for (const m of v.members)
        if (m.id < 32) lo += 2 ** m.id;
        else hi += 2 ** (m.id - 32);
      Object.assign(out, {
        [`view.${i}.epoch`]: v.epoch,
        [`view.${i}.atMs`]: v.atMs,
        [`view.${i}.membersLo`]: lo,
        [`view.${i}.membersHi`]: hi,
      });
    });
    return out;
  }
}
