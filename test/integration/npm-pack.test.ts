import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGES = ['actors', 'pmem', 'kv', 'heal'] as const;
const PACK_TIMEOUT_MS = 60_000;

interface PackResult {
  name: string;
  filename: string;
  files: { path: string }[];
}

interface Manifest {
  dependencies?: Record<string, string>;
  exports: Record<string, { types: string; default: string }>;
}

/**
 * What a tarball may hold besides package.json: the compiled library with its types and maps,
 * the sources those maps point at, a native addon's sources and binding.gyp (npm builds it at
 * install), and a README or LICENSE.
 */
const SHIPPED =
  /^(dist\/src\/.+\.(js|d\.ts)(\.map)?|src\/.+\.ts|native\/.+\.cc?|binding\.gyp|README\.md|LICENSE)$/;
/** What node-gyp builds from a shipped binding.gyp: not in the tarball, loaded from the package. */
const BUILT_AT_INSTALL = /^build\/Release\/[^/]+\.node$/;

/** Module specifiers a compiled file imports (static, dynamic, re-exports) and loads by URL. */
function specifiers(js: string): string[] {
  const found: string[] = [];
  for (const m of js.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*(['"])([^'"]+)\1/gm))
    found.push(m[2] ?? '');
  for (const m of js.matchAll(/^\s*import\s*(['"])([^'"]+)\1/gm)) found.push(m[2] ?? '');
  for (const m of js.matchAll(/\bimport\(\s*(['"])([^'"]+)\1\s*\)/g)) found.push(m[2] ?? '');
  for (const m of js.matchAll(/new URL\(\s*(['"])([^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g))
    found.push(m[2] ?? '');
  return found;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]) ?? specifier;
}

// One `npm pack` for the four packages (each npm start costs a second or more); the tests share it.
const packed: Promise<PackResult[]> = promisify(execFile)(
  'npm',
  [
    'pack',
    '--dry-run',
    '--json',
    '--ignore-scripts',
    ...PACKAGES.flatMap((p) => ['--workspace', `packages/${p}`]),
  ],
  { cwd: ROOT, timeout: PACK_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
).then(({ stdout }) => JSON.parse(stdout) as PackResult[]);
packed.catch(() => {}); // a failure is reported by each test below

for (const pkg of PACKAGES) {
  const name = `@heal/${pkg}`;
  const dir = `packages/${pkg}`;
  test(
    `npm pack ${name}: its compiled dist with types, the sources its maps name, no tests`,
    { timeout: PACK_TIMEOUT_MS },
    async () => {
      const result = (await packed).find((r) => r.name === name);
      assert.ok(result, `npm pack made no tarball for ${name}`);
      const manifest = JSON.parse(readFileSync(`${ROOT}/${dir}/package.json`, 'utf8')) as Manifest;
      const files = new Set(result.files.map((f) => f.path));
      const where = `${result.filename} (${dir})`;

      for (const path of ['package.json', 'dist/src/index.js', 'dist/src/index.d.ts']) {
        assert.ok(files.has(path), `${where} lacks ${path}`);
      }
      assert.ok(manifest.exports['.'], `${dir}/package.json exports "."`);
      for (const [subpath, entry] of Object.entries(manifest.exports)) {
        assert.deepEqual(
          Object.keys(entry),
          ['types', 'default'],
          `${dir}/package.json exports ${subpath}: types first, then default`,
        );
        for (const path of [entry.types, entry.default]) {
          assert.ok(
            files.has(posix.normalize(path)),
            `${where} lacks ${path}, which its exports name (${subpath})`,
          );
        }
        // Resolved as a user resolves it: by package name and subpath, through node_modules.
        const specifier = subpath === '.' ? name : `${name}${subpath.slice(1)}`;
        assert.equal(
          fileURLToPath(import.meta.resolve(specifier)),
          `${realpathSync(`${ROOT}/${dir}`)}/${posix.normalize(entry.default)}`,
          `${specifier} resolves to its exports' default`,
        );
      }
      for (const path of files) {
        if (path === 'package.json') continue;
        assert.match(path, SHIPPED, `${where} ships ${path}`);
        assert.doesNotMatch(
          path,
          /(^|\/)test\/|\.test\.|\.tsbuildinfo$/,
          `${where} ships a test or build file: ${path}`,
        );
        assert.ok(
          existsSync(`${ROOT}/${dir}/${path}`),
          `${where}: ${path} is listed but not on disk`,
        );
      }

      const dependencies = new Set(Object.keys(manifest.dependencies ?? {}));
      for (const path of [...files].filter((p) => p.endsWith('.js'))) {
        const source = path.replace(/^dist\//, '').replace(/\.js$/, '.ts');
        assert.ok(
          files.has(source),
          `${where}: ${dir}/${path} has no source ${source}: stale build output (run \`npm run clean && npx tsc -b\`)`,
        );
        assert.ok(
          files.has(path.replace(/\.js$/, '.d.ts')),
          `${where}: ${path} has no types next to it`,
        );
        for (const spec of specifiers(readFileSync(`${ROOT}/${dir}/${path}`, 'utf8'))) {
          if (spec.startsWith('.')) {
            const target = posix.normalize(posix.join(posix.dirname(path), spec));
            assert.ok(
              files.has(target) || (BUILT_AT_INSTALL.test(target) && files.has('binding.gyp')),
              `${where}: ${path} loads ${spec}, which the tarball lacks`,
            );
          } else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) {
            assert.ok(
              dependencies.has(packageName(spec)),
              `${where}: ${path} imports ${spec}, which is not among its dependencies`,
            );
            if (spec.startsWith('@heal/')) {
              const target = JSON.parse(
                readFileSync(`${ROOT}/packages/${spec.split('/')[1]}/package.json`, 'utf8'),
              ) as Manifest;
              const subpath = `.${spec.slice(packageName(spec).length)}`;
              assert.ok(
                target.exports[subpath],
                `${where}: ${path} imports ${spec}, which ${packageName(spec)} does not export`,
              );
            }
          }
        }
      }
      for (const path of [...files].filter((p) => p.endsWith('.map'))) {
        const map = JSON.parse(readFileSync(`${ROOT}/${dir}/${path}`, 'utf8')) as {
          sources: string[];
        };
        for (const source of map.sources) {
          const target = posix.normalize(posix.join(posix.dirname(path), source));
          assert.ok(
            files.has(target),
            `${where}: ${path} maps to ${source}, which the tarball lacks`,
          );
        }
      }
    },
  );
}
