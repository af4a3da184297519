import type { Command, OptionDefault, OptionDef, OptionTable } from './command.js';

/** Help lines longer than this put the default on a line of its own. */
const HELP_MAX_COLUMNS = 110;
/** The description column starts at least this far in (or after the longest `--name ARG`). */
const MIN_NAME_COLUMNS = 20;

export function formatDefault(value: OptionDefault): string {
  return typeof value === 'object' ? value.join(',') : String(value);
}

function defaultNote(def: OptionDef): string | undefined {
  if (def.default === undefined) return undefined;
  const value = formatDefault(def.default);
  const quick = def.quick === undefined ? undefined : formatDefault(def.quick);
  return quick === undefined || quick === value
    ? `(default ${value})`
    : `(default ${value}; --quick ${quick})`;
}

/** The lines `--help` shows for `options`, in table order, each default from the table. */
export function optionLines(options: OptionTable): string[] {
  const names = Object.entries(options).map(
    ([name, def]) => `--${name}${def.arg === undefined ? '' : ` ${def.arg}`}`,
  );
  const width = Math.max(MIN_NAME_COLUMNS, ...names.map((n) => n.length + 2));
  const indent = ' '.repeat(2 + width);
  const lines: string[] = [];
  let section: string | undefined;
  Object.values(options).forEach((def, i) => {
    if (def.section !== undefined && def.section !== section) lines.push(`  ${def.section}`);
    section = def.section;
    const text = typeof def.help === 'string' ? [def.help] : [...def.help];
    const note = defaultNote(def);
    if (note !== undefined) {
      const last = `${text[text.length - 1] ?? ''} ${note}`;
      if (2 + width + last.length <= HELP_MAX_COLUMNS) text[text.length - 1] = last;
      else text.push(note);
    }
    text.forEach((line, j) =>
      lines.push(j === 0 ? `  ${(names[i] as string).padEnd(width)}${line}` : `${indent}${line}`),
    );
  });
  return lines;
}

export function commandHelp(cmd: Command): string {
  const usage = `Usage: heal ${cmd.name} [options]${cmd.positionals ? ' <args>' : ''}`;
  const about = cmd.about === undefined ? [] : ['', ...cmd.about];
  // --help first: options after a section heading would read as part of that section.
  const options = optionLines({
    help: { type: 'boolean', help: 'show this help' },
    ...cmd.options,
  });
  return [usage, '', cmd.summary, ...about, '', 'Options:', ...options].join('\n');
}
