import type { Command } from '../cli/command.js';
import { demoCommand } from './demo.js';
import { benchRingCommand } from './bench-ring.js';
import { benchPmemCommand } from './bench-pmem.js';
import { checkCommand } from './check.js';
import { benchCheckCommand } from './bench-check.js';
import { benchKvCommand } from './bench-kv.js';
import { benchModelsCommand } from './bench-models.js';
import { benchProtocolCommand } from './bench-protocol.js';
import { benchWorkerStartCommand } from './bench-worker-start.js';
import { recoverCommand } from './recover.js';
import { sweepCommand } from './sweep.js';
import { calibrateCommand } from './calibrate.js';

/** Every `heal` subcommand; each capability adds its own file here. */
export const COMMANDS: readonly Command[] = [
  benchRingCommand,
  benchPmemCommand,
  demoCommand,
  checkCommand,
  benchCheckCommand,
  benchKvCommand,
  benchModelsCommand,
  benchProtocolCommand,
  benchWorkerStartCommand,
  recoverCommand,
  sweepCommand,
  calibrateCommand,
];
