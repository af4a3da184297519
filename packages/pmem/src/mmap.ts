/**
 * File mappings, from this package's native addon (native/pmem-mapping.cc, built by node-gyp
 * when the package is installed). A mapping is an ArrayBuffer over a file mapped MAP_SHARED (or
 * MAP_PRIVATE: a copy-on-write image of it);
 * `unmap` releases it at once and detaches the ArrayBuffer, so a closed region gives back its
 * file and address range without waiting for a major GC (a process that opens thousands of
 * regions would run out of mappings). V8 does not count a mapping as external memory it
 * allocated: mapping a table does not start a garbage collection that cannot free it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface Mmap {
  readonly PAGESIZE: number;
  /**
   * Maps the first `sizeBytes` of `fd` read-write, MAP_SHARED; `copyOnWrite`: MAP_PRIVATE (stores
   * stay in this process, the file never changes; `fd` may be read-only).
   */
  map(fd: number, sizeBytes: number, copyOnWrite?: boolean): ArrayBuffer;
  /** msync(MS_SYNC) of `lengthBytes` (> 0) from a page-aligned `offset` of a mapping. */
  sync(mapping: ArrayBuffer, offset: number, lengthBytes: number): void;
  /** Releases a mapping now and detaches its ArrayBuffer (every view becomes empty). */
  unmap(mapping: ArrayBuffer): void;
}

function loadMmap(): Mmap {
  // From dist/src/mmap.js (and from src/ under a TypeScript loader) the package root is 2 up.
  const path = fileURLToPath(new URL('../../build/Release/pmem_mapping.node', import.meta.url));
  if (!existsSync(path)) {
    throw new Error(
      `@heal/pmem: its native addon is not built (${path} is missing); ` +
        'build it with `npm rebuild @heal/pmem` (node-gyp and a C++ compiler)',
    );
  }
  return createRequire(import.meta.url)(path) as Mmap;
}

export const mmap: Mmap = loadMmap();
