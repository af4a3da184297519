import type { ActorId } from '@heal/actors/core';

/** A view as the replicas installed it: its epoch, the earliest install, and its members. */
export interface ViewInstall {
  epoch: number;
  /** The earliest install among the replicas that report it (shared clock, ms). */
  atMs: number;
  members: ActorId[];
}

/**
 * The views the replicas installed, from their stats (`view.<i>.epoch`, `.atMs`, `.membersLo`,
 * `.membersHi`: Membership keeps its newest installs), merged by epoch, oldest first.
 */
export function viewInstalls(stats: readonly Record<string, number>[]): ViewInstall[] {
  const byEpoch = new Map<number, ViewInstall>();
  for (const s of stats) {
    for (let i = 0; s[`view.${i}.epoch`] !== undefined; i++) {
      const epoch = s[`view.${i}.epoch`] as number;
      const atMs = s[`view.${i}.atMs`] as number;
      const known = byEpoch.get(epoch);
      if (known) {
        known.atMs = Math.min(known.atMs, atMs);
        continue;
      }
      const members: ActorId[] = [];
      const lo = s[`view.${i}.membersLo`] as number;
      const hi = s[`view.${i}.membersHi`] as number;
      for (let id = 0; id < 32; id++) if (Math.floor(lo / 2 ** id) % 2 === 1) members.push(id);
      for (let id = 0; id < 32; id++) if (Math.floor(hi / 2 ** id) % 2 === 1) members.push(32 + id);
      byEpoch.set(epoch, { epoch, atMs, members });
    }
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

/** The reports' failure window: from the crash to the first view installed without the victim. */
export function failureMs(
  views: readonly ViewInstall[],
  victim: ActorId,
  crashMs: number,
): number | null {
  const removal = views.find((v) => v.atMs >= crashMs && !v.members.includes(victim));
  return removal === undefined ? null : removal.atMs - crashMs;
}

/** Views first installed in [fromMs, toMs): with no fault there should be none. */
export function viewChanges(views: readonly ViewInstall[], fromMs: number, toMs: number): number {
  return views.filter((v) => v.atMs >= fromMs && v.atMs < toMs).length;
}
