import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Debian packages `roam cc` needs, named in every toolchain error. */
export const PACKAGES = 'clang lld wasi-libc libclang-rt-dev-wasm32';
const MPI_H = fileURLToPath(new URL('../../guest-sdk/include/mpi.h', import.meta.url));

/** One line for a clang that cannot be started. */
export function missingClang(clang: string, e: NodeJS.ErrnoException): string {
  return e.code === 'ENOENT'
    ? `${clang} not found: install Debian's clang (apt-get install ${PACKAGES})`
    : `cannot run ${clang} (${e.code ?? e.message}); install Debian's ${PACKAGES}`;
}

/** Toolchain failures that mean a package is missing: [pattern in clang's stderr, explanation]. */
const MISSING: Array<[RegExp, string]> = [
  [/Executable "wasm-ld" doesn't exist|wasm-ld.*not found/, 'wasm-ld not found: install Debian\'s lld (apt-get install lld)'],
  [/libclang_rt\.builtins-wasm32\.a/, 'the wasm32 compiler runtime is missing: install Debian\'s libclang-rt-dev-wasm32'],
  [/crt1(-command)?\.o|unable to find library -lc\b/, 'wasi-libc\'s startup files are missing: install Debian\'s wasi-libc'],
];

let declared: string | null = null;
function inMpiH(fn: string): boolean {
  declared ??= existsSync(MPI_H) ? readFileSync(MPI_H, 'utf8') : '';
  return new RegExp(`\\b${fn}\\s*\\(`).test(declared);
}

/** Why an MPI function is missing: roam lacks it, the file never included <mpi.h>, or an object was built against another mpi.h. */
function explainMpi(fn: string, atLink: boolean): string {
  if (!inMpiH(fn)) return `${fn} is not provided by roam: roam's mpi.h does not declare it (engine/mpi/README.md lists the MPI functions roam implements)`;
  return atLink
    ? `${fn} is undefined at link: an object was compiled without roam's mpi.h (which makes it a roam:mpi import); rebuild it with roam mpicc`
    : `${fn} is declared in <mpi.h>, which this file does not include`;
}

/**
 * The `roam cc:` lines after a failed clang run: each MPI function that was used undeclared or
 * left undefined at link (at most 5), a missing package, else clang's first error line.
 */
export function explainFailure(stderr: string): string[] {
  const mpi = new Map<string, boolean>();
  for (const m of stderr.matchAll(/implicit declaration of function '(P?MPIX?_\w+)'|undefined symbol: (P?MPIX?_\w+)/g)) {
    if (!mpi.has(m[1] ?? m[2])) mpi.set(m[1] ?? m[2], !m[1]);
  }
  const lines = [...mpi].slice(0, 5).map(([fn, atLink]) => explainMpi(fn, atLink));
  if (mpi.size > 5) lines.push(`... and ${mpi.size - 5} more MPI functions`);
  for (const [re, why] of MISSING) if (re.test(stderr)) lines.push(why);
  if (/'(stdio|stdlib|string|math)\.h' file not found/.test(stderr) && !existsSync('/usr/include/wasm32-wasi')) {
    lines.push('the wasm32-wasi C headers are missing: install Debian\'s wasi-libc');
  }
  if (!lines.length) {
    const first = stderr.split('\n').find((l) => /error/.test(l));
    lines.push(`clang failed: ${first?.trim().replace(/^clang(-\d+)?: error: /, '') ?? 'no error message'}`);
  }
  return lines;
}
