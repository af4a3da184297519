import type { ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | undefined>;

/**
 * One `heal` subcommand. Its name may have several words (`bench ring`); the dispatcher picks
 * the longest name that prefixes argv. `run` returns the process exit code.
 */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Lines describing each option, shown by `heal <name> --help`. */
  readonly usage: string;
  readonly options: OptionSpec;
  /** Whether the command takes positional arguments (e.g. a file); otherwise they are errors. */
  readonly positionals?: boolean;
  run(values: OptionValues, positionals: string[]): Promise<number>;
}

/** A command-line mistake: printed as `heal: <message>` with exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
