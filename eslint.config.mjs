// ESLint 9 flat config. TypeScript (packages/*/src and test, bench, test, examples): the rules
// of typescript-eslint's recommendedTypeChecked, on the types of each package's tsconfig.
// JavaScript (scripts, config files, the `heal` bin shim): ESLint's recommended rules.
// Layout is Prettier's job (.prettierrc.json, `prettier --check`), so no stylistic rules here.
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'bench/results/**',
      'heal-results/**',
      'reports/**',
      '.stryker-tmp/**',
      '.tmp/**',
    ],
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        // import.meta.dirname needs Node 20.11; engines says >=20.
        tsconfigRootDir: fileURLToPath(new URL('.', import.meta.url)),
      },
    },
    rules: {
      // Indexed reads are marked `xs[i] as T` or `xs[i]!` (about 450 places) where the code
      // knows the element exists, as they must be written under noUncheckedIndexedAccess. The
      // tsconfig does not enable that flag, so the rule calls every one unnecessary: removing
      // them would be hundreds of rewrites of correct code that drop a statement of intent.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // node:test's test()/describe() return promises the runner itself awaits and reports;
      // awaiting or voiding each of the ~480 calls would add nothing. Every other promise must
      // still be awaited, returned, caught or explicitly voided.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      // The same convention as tsc's noUnusedParameters: a leading underscore marks a parameter
      // an implementation must accept but does not use.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
);
