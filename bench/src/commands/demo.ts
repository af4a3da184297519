import type { Command } from '../cli/command.js';
import { DEMO_EXPERIMENT } from '../experiment/config.js';
import { experimentOptions, parseExperimentConfig } from '../experiment/options.js';
import { BENCH_RESULTS_NAME, outputOptions } from '../report/results-dir.js';

export const demoCommand: Command = {
  name: 'demo',
  summary:
    'the recovery experiment on worker threads: one of 6 replicas crashed, recovered by each strategy',
  about: [
    'Runs `heal recover --runtime threads` with the quick-start defaults below and prints the',
    'side-by-side table; every flag of the experiment can change them.',
  ],
  options: {
    ...experimentOptions(DEMO_EXPERIMENT),
    ...outputOptions('demo.json, demo.md and throughput.svg', `${BENCH_RESULTS_NAME}/demo/`),
  },
  async run(values) {
    const config = parseExperimentConfig(values, DEMO_EXPERIMENT);
    // Loaded here, not at the top: `heal` must not import the thread runtime for other commands.
    const { runAndPublish } = await import('../experiment/publish.js');
    return runAndPublish({
      command: 'demo',
      values,
      config,
      title:
        `HEAL demo: one of ${config.replicas} replicas crashed and recovered by ${config.strategies.join(', ')} ` +
        `(${config.workload}, ${config.medium}, ${config.model}, worker threads)`,
    });
  },
};
