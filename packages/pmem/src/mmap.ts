/**
 * The one import of `@riaskov/mmap-io`. Its typings declare an ES default export, but the
 * package is CommonJS with `module.exports = binding`, so under NodeNext the default import is
 * the binding itself at run time while TypeScript types it as `{ default: binding }`. This file
 * states the run-time truth once.
 */
import mmapModule from '@riaskov/mmap-io';

type MmapIo = typeof mmapModule.default;

export const mmap: MmapIo = mmapModule as unknown as MmapIo;
