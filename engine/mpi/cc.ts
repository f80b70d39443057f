import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RoamError } from '../errors.ts';

/** guest-sdk/include: roam's own mpi.h. */
export const INCLUDE_DIR = fileURLToPath(new URL('../../guest-sdk/include', import.meta.url));
const WASI_SYSROOT_INCLUDE = '/usr/include/wasm32-wasi';

/**
 * Flags for Debian's clang to build a wasm32-wasi MPI guest: roam's mpi.h, wasi-libc only
 * (-nostdlibinc so a missing header fails instead of falling back to the host's /usr/include),
 * MPI calls left as `roam:mpi` imports, and the exports the host needs for user ops
 * (function table, malloc/free).
 */
export function ccArgs(inputs: string[], output: string, extra: string[] = []): string[] {
  return [
    '--target=wasm32-wasi', '--sysroot=/usr', '-nostdlibinc', '-isystem', WASI_SYSROOT_INCLUDE, '-isystem', INCLUDE_DIR,
    '-O2', ...extra, ...inputs, '-o', output,
    '-Wl,--export=malloc,--export=free,--export-table,--strip-all',
  ];
}

export function compileC(inputs: string[], output: string, extra: string[] = [], clang = process.env.ROAM_CLANG ?? 'clang'): void {
  const r = spawnSync(clang, ccArgs(inputs, output, extra), { encoding: 'utf8' });
  if (r.error) throw new RoamError('E_TOOLCHAIN', `cannot run ${clang} (${(r.error as NodeJS.ErrnoException).code}); install Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32`);
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    const first = r.stderr.split('\n').find((l) => /error/.test(l)) ?? `exit ${r.status}`;
    throw new RoamError('E_COMPILE', `clang failed: ${first.trim()}`);
  }
}
