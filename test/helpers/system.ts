import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a suite needs from the system, and the Debian packages that bring it (README "Requirements";
 * .ci/run installs them all). `npm test` on a machine without them skips those suites with one line
 * naming the packages; under CI=true nothing is skipped, so a missing package fails loudly.
 */
const NEEDS = {
  'wasm-clang': { has: () => ok('clang', ['--version']) && existsSync('/usr/include/wasm32-wasi/stdio.h'), what: 'clang for wasm32-wasi', packages: 'clang lld wasi-libc libclang-rt-dev-wasm32' },
  mpich: { has: () => ok('mpiexec', ['--version']) && ok('mpicc', ['-show']), what: 'a system MPI', packages: 'mpich libmpich-dev' },
  'wasm-rust': { has: () => rustForWasi() !== null, what: 'rustc with the wasm32-wasi standard library', packages: 'rustc libstd-rust-dev-wasm32' },
} as const;
export type Need = keyof typeof NEEDS;

const ok = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const warned = new Set<string>();

/** '' when everything in `needs` is present (or under CI); else the skip reason, printed once per suite. */
export function missing(suite: string, ...needs: Need[]): string {
  if (process.env.CI) return '';
  const lacking = needs.filter((n) => !NEEDS[n].has()).map((n) => NEEDS[n]);
  if (lacking.length === 0) return '';
  const reason = `skipped: no ${lacking.map((l) => l.what).join(', ')} (apt-get install ${lacking.map((l) => l.packages).join(' ')})`;
  if (!warned.has(suite)) {
    warned.add(suite);
    process.stderr.write(`${suite}: ${reason}\n`);
  }
  return reason;
}

/**
 * A rustc that can build for WASI preview 1, and its target name: Debian's (/usr/bin/rustc 1.63 with
 * libstd-rust-dev-wasm32: `wasm32-wasi`) first, then the one on PATH (rustup's call it `wasm32-wasip1`
 * since 1.78). null when none has the target's standard library.
 */
export function rustForWasi(): { rustc: string; target: string } | null {
  for (const rustc of ['/usr/bin/rustc', 'rustc']) {
    const r = spawnSync(rustc, ['--print', 'sysroot'], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    for (const target of ['wasm32-wasi', 'wasm32-wasip1']) {
      if (existsSync(join(r.stdout.trim(), 'lib/rustlib', target, 'lib'))) return { rustc, target };
    }
  }
  return null;
}
