import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { commandHelp, formatDefault, optionLines } from '../src/cli/help.js';
import { benchCheckCommand } from '../src/commands/bench-check.js';
import { COMMANDS } from '../src/commands/index.js';
import { heal } from './run-heal.js';

test("every command's --help lists each of its options once, with the default its table holds", () => {
  for (const cmd of COMMANDS) {
    const help = commandHelp(cmd);
    for (const [name, def] of Object.entries(cmd.options)) {
      const at = help
        .split('\n')
        .flatMap((line, i) => (new RegExp(`^ {2}--${name}(?: |$)`).test(line) ? [i] : []));
      assert.equal(at.length, 1, `heal ${cmd.name}: --${name} listed ${at.length} times`);
      if (def.default === undefined) continue;
      // The default closes the option's entry: on its first line or a continuation line.
      const entry = help
        .split('\n')
        .slice(at[0])
        .join('\n')
        .split(/\n {2}--/)[0] as string;
      assert.ok(
        entry.includes(`(default ${formatDefault(def.default)}`),
        `heal ${cmd.name} --${name}: ${entry}`,
      );
    }
  }
});

test('help shows a --quick default beside the default, and moves a default that would overflow to its own line', () => {
  const lines = optionLines({
    keys: { type: 'string', arg: 'N', help: 'keys', default: 100_000, quick: 2000 },
    same: { type: 'string', arg: 'N', help: 'same either way', default: 3, quick: 3 },
    long: { type: 'string', arg: 'LIST', help: 'x'.repeat(85), default: [1, 2] },
    flag: { type: 'boolean', help: 'a switch' },
  });
  assert.deepEqual(lines, [
    '  --keys N            keys (default 100000; --quick 2000)',
    '  --same N            same either way (default 3)',
    `  --long LIST         ${'x'.repeat(85)}`,
    '                      (default 1,2)',
    '  --flag              a switch',
  ]);
});

test('a command run without flags uses the defaults its help shows', async () => {
  const out = mkdtempSync(join(tmpdir(), 'heal-help-defaults-'));
  try {
    const run = await heal(
      'bench',
      'check',
      '--operations',
      '300',
      '--repeats',
      '1',
      '--json',
      '--out',
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    const config = (JSON.parse(run.stdout) as { config: Record<string, unknown> }).config;
    for (const name of ['clients', 'keys', 'seed'] as const)
      assert.equal(config[name], benchCheckCommand.options[name]?.default, name);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
