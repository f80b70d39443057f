// POSIX shared memory as SharedArrayBuffers (native-host/src/shm.cc, target roam_shm).
import { createRequire } from 'node:module';
import { RoamError } from '../errors.ts';

interface ShmAddon {
  open(name: string, size: number, create: boolean): SharedArrayBuffer;
  unlink(name: string): boolean;
}

let addon: ShmAddon | null | undefined;
let loadError = '';

/** The addon, or null when it was not built (`npm install` builds it; see engine/places/README.md). */
export function shmAddon(): ShmAddon | null {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)('../../native-host/build/Release/roam_shm.node') as ShmAddon;
    } catch (e) {
      addon = null;
      loadError = (e as Error).message;
    }
  }
  return addon;
}

function need(): ShmAddon {
  const a = shmAddon();
  if (!a) throw new RoamError('E_SHM', `POSIX shm addon not built (run npm install, which runs node-gyp in native-host/): ${loadError}`);
  return a;
}

/** Creates (or resizes) a shm object and maps it. Names look like /roam.<pid>.<n>. */
export function createShm(name: string, size: number): SharedArrayBuffer {
  return need().open(name, size, true);
}

/** Maps an existing shm object created by another process. */
export function openShm(name: string, size: number): SharedArrayBuffer {
  return need().open(name, size, false);
}

export function unlinkShm(name: string): void {
  need().unlink(name);
}
