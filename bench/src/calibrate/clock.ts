/** The real clocks a calibration reads (the simulator never does). */

/** Wall-clock nanoseconds from process.hrtime, for operations short enough not to be preempted. */
export const nowNs = (): number => Number(process.hrtime.bigint());

/** CPU time of this process (user + system) in ns: for operations long enough to be preempted. */
export const cpuNs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};
