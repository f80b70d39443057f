import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, openSync, readSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RoamError } from '../errors.ts';
import type { CcCommand } from './cc-args.ts';

/**
 * wasm-ld (LLVM 14) refuses a static archive without a symbol index ("archive has no index; run
 * ranlib to add one"), and GNU ar/ranlib write none for wasm objects they cannot read. Makefiles
 * use the host's `ar rc` + `ranlib`, so the link step indexes such archives itself: an indexed copy
 * in a scratch directory (made with llvm-ar, which reads wasm objects) replaces the user's file on
 * clang's command line. The user's archive is never modified.
 */

const MAGIC = '!<arch>\n';
const INDEX_NAMES = ['/ ', '/SYM64/', '__.SYMDEF'];

/** True for a regular archive with members and no symbol index (thin or foreign files: false). */
export function needsIndex(path: string): boolean {
  const head = Buffer.alloc(MAGIC.length + 16);
  let n = 0;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    n = readSync(fd, head, 0, head.length, 0);
  } catch {
    return false; // clang will name the unreadable file
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (n < MAGIC.length || head.toString('latin1', 0, MAGIC.length) !== MAGIC) return false;
  if (n === MAGIC.length) return false; // empty archive: nothing to index
  const first = head.toString('latin1', MAGIC.length, n);
  return !INDEX_NAMES.some((p) => first.startsWith(p));
}

/** llvm-ar: ROAM_LLVM_AR alone when set, else on PATH, else beside the real clang binary (Debian: /usr/lib/llvm-N/bin). */
function llvmAr(clang: string): string | null {
  const env = process.env.ROAM_LLVM_AR;
  const candidates = env ? [env] : ['llvm-ar', besideClang(clang)];
  return candidates.find((c) => c && spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0) ?? null;
}

function besideClang(clang: string): string {
  try {
    const which = spawnSync('sh', ['-c', 'command -v "$0"', clang], { encoding: 'utf8' }).stdout.trim();
    return which ? join(dirname(realpathSync(which)), 'llvm-ar') : '';
  } catch {
    return ''; // no clang either: the compile step reports that
  }
}

/** Finds `-lNAME`'s static archive in the user's -L directories (the sysroot's own are indexed). */
function findLib(name: string, dirs: string[]): string | null {
  if (name.startsWith(':')) {
    for (const d of dirs) if (existsSync(join(d, name.slice(1)))) return join(d, name.slice(1));
    return null;
  }
  for (const d of dirs) if (existsSync(join(d, `lib${name}.a`))) return join(d, `lib${name}.a`);
  return null;
}

/**
 * Returns clang's arguments with every index-less archive (named as an input or as `-lNAME` found in
 * a -L directory) replaced by an indexed copy under `scratch`.
 */
export function indexArchives(c: CcCommand, scratch: () => string, clang: string): string[] {
  const args = [...c.args];
  const replace = new Map<number, string>();
  for (const i of c.inputAt) if (args[i].endsWith('.a') && needsIndex(args[i])) replace.set(i, args[i]);
  for (const l of c.libs) {
    const path = findLib(l.name, c.libDirs);
    if (path && needsIndex(path)) replace.set(l.at, path);
  }
  if (!replace.size) return args;
  const ar = llvmAr(clang);
  let n = 0;
  const drop = new Set<number>();
  for (const [i, path] of replace) {
    if (!ar) throw new RoamError('E_TOOLCHAIN', `${path} has no symbol index (GNU ar writes none for wasm objects) and llvm-ar, which adds one, is missing: install Debian's llvm (apt-get install llvm)`);
    const copy = join(scratch(), `${n++}-${basename(path)}`);
    copyFileSync(path, copy);
    const r = spawnSync(ar, ['s', copy], { encoding: 'utf8' });
    if (r.status !== 0) throw new RoamError('E_TOOLCHAIN', `llvm-ar could not index ${path}: ${(r.stderr || r.error?.message || '').trim()}`);
    if (c.libs.some((l) => l.at === i && !l.joined)) drop.add(i - 1); // `-l NAME` becomes the path alone
    args[i] = copy;
  }
  return args.filter((_, i) => !drop.has(i));
}
