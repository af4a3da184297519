#!/usr/bin/env node
// Stryker's build command (stryker.config.mjs), run in each sandbox it creates under
// .stryker-tmp/. The sandbox has the mutated TypeScript sources but no node_modules of its own
// (`symlinkNodeModules: false`): a symlinked node_modules would be the worktree's, whose
// `@heal/*` links point back at the worktree's packages, so a test would import the un-mutated
// dist of every package but its own. Here each workspace package gets a link in the sandbox's
// node_modules to the sandbox's copy; everything else (typescript, @types/node, piscina, ...)
// Node and tsc still find by walking up to the worktree's node_modules. Then the packages the
// mutated code and its tests live in are compiled.
import { lstatSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = process.cwd();
if (!root.split(sep).includes('.stryker-tmp')) {
  console.error(
    `sandbox-build: ${root} is not a Stryker sandbox (.stryker-tmp/...); refusing to relink its node_modules`,
  );
  process.exit(1);
}

const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const dir of workspaces) {
  const { name } = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  const link = join(root, 'node_modules', name);
  mkdirSync(dirname(link), { recursive: true });
  let exists = true;
  try {
    lstatSync(link);
  } catch {
    exists = false;
  }
  if (!exists) symlinkSync(relative(dirname(link), join(root, dir)), link, 'dir');
}

// The packages under mutation and every package their tests import; bench and the cross-package
// suites are not compiled (their tests are not run).
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const build = spawnSync(process.execPath, [tsc, '-b', 'packages/kv', 'packages/heal'], {
  stdio: 'inherit',
});
process.exit(build.status ?? 1);
