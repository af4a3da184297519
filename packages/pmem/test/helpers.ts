import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LATENCY_OFF, type RegionOptions } from '../src/index.js';

/** Region options for tests: no latency model, so runs are fast and clock-free. */
export const FAST: RegionOptions = { latency: LATENCY_OFF };

/** A temporary directory, removed by the returned cleanup. */
export function tempDir(prefix: string): {
  dir: string;
  file: (name: string) => string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), `heal-pmem-${prefix}-`));
  return {
    dir,
    file: (name) => join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
