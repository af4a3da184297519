#!/usr/bin/env node
// The `heal` command: a thin shim so the bin exists before the TypeScript build has run.
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
