import type { ExperimentProgress } from './run-experiment.js';

const BAR_CELLS = 20;
/** How often the line is redrawn while a stage runs. */
const REDRAW_MS = 200;

export interface ProgressLine {
  update: (p: ExperimentProgress) => void;
  done: () => void;
}

/**
 * One line on stderr rewritten in place while the experiment runs: the strategy, its stage and
 * a bar over the stage's planned length (elapsed time for stages without one). Nothing at all
 * when stderr is not a terminal.
 */
export function progressLine(command: string): ProgressLine {
  const stderr = process.stderr;
  if (!stderr.isTTY) return { update: () => {}, done: () => {} };
  let current: ExperimentProgress | undefined;
  let stageStartMs = 0;
  const draw = (): void => {
    if (!current) return;
    const elapsedMs = performance.now() - stageStartMs;
    const head = `heal ${command}: [${current.index + 1}/${current.of}] ${current.strategy}: ${current.stage}`;
    let tail = ` ${(elapsedMs / 1000).toFixed(1)} s`;
    if (current.stageMs !== undefined && current.stageMs > 0) {
      const filled = Math.min(BAR_CELLS, Math.floor((elapsedMs / current.stageMs) * BAR_CELLS));
      tail = ` ▕${'█'.repeat(filled)}${' '.repeat(BAR_CELLS - filled)}▏ ${(elapsedMs / 1000).toFixed(1)}/${(current.stageMs / 1000).toFixed(1)} s`;
    }
    stderr.write(`\r\x1b[2K${head}${tail}`);
  };
  const timer = setInterval(draw, REDRAW_MS);
  timer.unref();
  return {
    update: (p) => {
      current = p;
      stageStartMs = performance.now();
      draw();
    },
    done: () => {
      clearInterval(timer);
      stderr.write('\r\x1b[2K');
    },
  };
}
