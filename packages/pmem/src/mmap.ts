/**
 * The one use of `@riaskov/mmap-io`, loaded so that opening a region in a fresh worker thread
 * costs what mapping costs. The package's own entry finds its compiled binding through
 * node-pre-gyp (`binary.find`), which loads node-pre-gyp and its dependencies and reads its
 * package.json: about 100 ms of every worker's start, before anything is mapped. The binding is
 * a file at a path that node-pre-gyp's `binary.module_path` template fixes
 * (`build/binding/{configuration}/{node_abi}-{platform}-{arch}/`), so it is required from there;
 * only if it is not there (a binding built some other way) is the package's entry used.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** What this package uses of the binding. */
export interface Mmap {
  readonly PROT_READ: number;
  readonly PROT_WRITE: number;
  readonly MAP_SHARED: number;
  readonly PAGESIZE: number;
  /** Maps `sizeBytes` of `fd` from `offset`; the Buffer views the mapping. */
  map(sizeBytes: number, protection: number, flags: number, fd: number, offset: number): Buffer;
  /** msync of `lengthBytes` (> 0) from `offset` of a mapping; `blocking`: MS_SYNC, else MS_ASYNC. */
  sync(
    buffer: Buffer,
    offset: number,
    lengthBytes: number,
    blocking: boolean,
    invalidate: boolean,
  ): void;
}

/** The binding as compiled (mmap-io.js wraps `sync_lib_private__` with argument defaults). */
interface RawBinding extends Omit<Mmap, 'sync'> {
  sync_lib_private__(
    buffer: Buffer,
    offset: number,
    lengthBytes: number,
    blocking: boolean,
    invalidate: boolean,
  ): void;
}

/** Where node-pre-gyp installs the Release binding for this Node (`node_abi` is `node-v<modules>`). */
function prebuiltBindingPath(packageDir: string): string {
  const abi = `node-v${process.versions.modules}-${process.platform}-${process.arch}`;
  return join(packageDir, 'build', 'binding', 'Release', abi, 'mmap_io.node');
}

function loadMmap(): Mmap {
  const require = createRequire(import.meta.url);
  const path = prebuiltBindingPath(dirname(require.resolve('@riaskov/mmap-io/package.json')));
  if (!existsSync(path)) return require('@riaskov/mmap-io') as Mmap;
  const raw = require(path) as RawBinding;
  return {
    PROT_READ: raw.PROT_READ,
    PROT_WRITE: raw.PROT_WRITE,
    MAP_SHARED: raw.MAP_SHARED,
    PAGESIZE: raw.PAGESIZE,
    map: (sizeBytes, protection, flags, fd, offset) =>
      raw.map(sizeBytes, protection, flags, fd, offset),
    sync: (buffer, offset, lengthBytes, blocking, invalidate) => {
      assert(lengthBytes > 0, `msync length must be > 0, got ${lengthBytes}`);
      raw.sync_lib_private__(buffer, offset, lengthBytes, blocking, invalidate);
    },
  };
}

export const mmap: Mmap = loadMmap();
