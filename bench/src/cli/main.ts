import { parseArgs } from 'node:util';
import { COMMANDS } from '../commands/index.js';
import { UsageError, type Command } from './command.js';
import { checkExclusive } from './flags.js';
import { commandHelp } from './help.js';

/** Command names are padded to the longest one, so the summaries line up. */
const NAME_WIDTH = Math.max(...COMMANDS.map((c) => c.name.length));

const TOP_HELP = `heal: HEAL on worker threads, one entry point for every experiment.

Usage: heal <command> [options]
       heal <command> --help

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(NAME_WIDTH)} ${c.summary}`).join('\n')}

Measuring commands take --json: exactly one JSON document on stdout, progress on stderr.`;

/** Picks the command whose (multi-word) name is the longest prefix of argv. */
function findCommand(argv: readonly string[]): { cmd: Command; rest: string[] } | undefined {
  let best: Command | undefined;
  for (const cmd of COMMANDS) {
    const words = cmd.name.split(' ');
    const matches = words.every((w, i) => argv[i] === w);
    if (matches && (best === undefined || words.length > best.name.split(' ').length)) best = cmd;
  }
  return best && { cmd: best, rest: argv.slice(best.name.split(' ').length) };
}

/** Runs `heal` with the given arguments and returns the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    (argv.length === 0 ? process.stderr : process.stdout).write(`${TOP_HELP}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const near = COMMANDS.filter((c) => c.name.startsWith(argv[0] ?? '')).map((c) => c.name);
    const hint = near.length > 0 ? ` (did you mean: ${near.join(', ')}?)` : '';
    process.stderr.write(
      `heal: unknown command '${argv.join(' ')}'${hint}\nRun 'heal --help' for the list.\n`,
    );
    return 2;
  }
  const { cmd, rest } = found;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        ...Object.fromEntries(
          Object.entries(cmd.options).map(([name, def]) => [name, { type: def.type }]),
        ),
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: cmd.positionals === true,
    });
    if (values.help) {
      process.stdout.write(`${commandHelp(cmd)}\n`);
      return 0;
    }
    checkExclusive(cmd.options, values);
    return await cmd.run(values, positionals);
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err)) {
      process.stderr.write(
        `heal ${cmd.name}: ${(err as Error).message}\nRun 'heal ${cmd.name} --help' for its options.\n`,
      );
      return 2;
    }
    throw err;
  }
}

function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
