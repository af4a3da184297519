export type OptionValues = Record<string, string | boolean | undefined>;

/** A default as `--help` shows it; a list is shown comma-separated. */
export type OptionDefault = string | number | readonly (string | number)[];

/**
 * One option of a command: what parseArgs reads and what `--help` shows. Help is generated from
 * these, so a default written here (or in the defaults object the table is built from) is the
 * one the command uses and the one its help shows.
 */
export interface OptionDef {
  readonly type: 'string' | 'boolean';
  /** The value's name in help (`N`, `LIST`, `DIR`); a boolean flag has none. */
  readonly arg?: string;
  /** What it does; further lines continue under the first. Not the default: see `default`. */
  readonly help: string | readonly string[];
  /** The value used without the flag, shown as `(default X)`. */
  readonly default?: OptionDefault;
  /** The default under `--quick`, where it differs: shown as `(default X; --quick Y)`. */
  readonly quick?: OptionDefault;
  /** A heading (`sim only:`) shown before the first option of each section, in table order. */
  readonly section?: string;
  /** Options that cannot be given with this one: rejected before the command starts. */
  readonly excludes?: readonly string[];
}

export type OptionTable = Readonly<Record<string, OptionDef>>;

/**
 * One `heal` subcommand. Its name may have several words (`bench ring`); the dispatcher picks
 * the longest name that prefixes argv. `run` returns the process exit code.
 */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Lines shown above the options in `--help` (positional arguments, what the command runs). */
  readonly about?: readonly string[];
  readonly options: OptionTable;
  /** Whether the command takes positional arguments (e.g. a file); otherwise they are errors. */
  readonly positionals?: boolean;
  /** A command that does all its work synchronously returns the code directly. */
  run(values: OptionValues, positionals: string[]): number | Promise<number>;
}

/** A command-line mistake: printed as `heal: <message>` with exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
