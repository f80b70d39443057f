import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROAM, roam, run } from './mpi-helpers.ts';
import { missing } from './helpers/system.ts';

// `roam cc` / `roam mpicc` as an mpicc: real clang, real make, real GNU ar and llvm-ar, and the
// results run under the embedded MPI.
const NAS = fileURLToPath(new URL('./fixtures/mpi-nas', import.meta.url));
// Needs clang for wasm32-wasi (and make, ar): skipped with one line without it (not in CI).
const skip = missing('roam cc / roam mpicc', 'wasm-clang');
let dir = '';
/** A `roam` on PATH, as `npm install -g` would give: Makefiles say `MPICC = roam mpicc`. */
let shim = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'roam-cc-'));
  shim = join(dir, 'bin');
  mkdirSync(shim);
  writeFileSync(join(shim, 'roam'), `#!/bin/sh\nexec "${process.execPath}" "${ROAM}" "$@"\n`);
  chmodSync(join(shim, 'roam'), 0o755);
});

/** Runs a shell command line in `cwd` with the roam shim first on PATH. */
function sh(cwd: string, line: string) {
  return spawnSync('sh', ['-c', line], { cwd, encoding: 'utf8', env: { ...process.env, PATH: `${shim}:${process.env.PATH}`, NODE_NO_WARNINGS: '1' } });
}

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const wasmOk = (p: string) => WebAssembly.validate(new Uint8Array(readFileSync(p)));

describe.skipIf(skip)('roam mpicc builds a NAS-style Makefile unmodified', () => {
  it('compiles two directories to objects, archives one with GNU ar + ranlib, links, and the program verifies on 2 ranks', async () => {
    const tree = join(dir, 'nas');
    cpSync(NAS, tree, { recursive: true });
    const make = sh(tree, 'make ep');
    expect(make.status, make.stdout + make.stderr).toBe(0);
    for (const o of ['common/c_timers.o', 'common/print_results.o', 'common/randlc.o', 'common/libnpb.a', 'ep/ep.o', 'ep/verify.o']) expect(existsSync(join(tree, o)), o).toBe(true);
    const prog = join(tree, 'bin/ep.S.wasm');
    expect(wasmOk(prog)).toBe(true);

    const r = await roam('mpirun', '-np', '2', '--timeout', '60', prog);
    expect(r.code, r.stderr).toBe(0);
    // The kernel's answer, computed here independently: sum of (i * 2654435761 mod 2^32) mod 1000003 over 2^16 indices.
    let sum = 0;
    for (let i = 0; i < 1 << 16; i++) sum += (Math.imul(i, 2654435761) >>> 0) % 1000003;
    expect(r.stdout).toMatch(new RegExp(`Sum += +${sum}\\n`));
    expect(r.stdout).toMatch(/Verification += +SUCCESSFUL/);
    expect(r.stdout).toMatch(/Class += +S\n/); // -D CLASS_NAME='"S"' in ep/Makefile
    expect(r.stdout).toMatch(/Version += +3\.4-roam\n/); // -D NPB_VERSION='"3.4-roam"' in common/Makefile
    expect(r.stdout).toMatch(/Processes += +2\n/);
  }, 180_000);
});

describe.skipIf(skip)('roam cc / roam mpicc command line', () => {
  it('is the same command under both names', async () => {
    const a = await roam('cc', '-show', '-O3', '-I', 'inc', '-c', 'x.c');
    const b = await roam('mpicc', '-show', '-O3', '-I', 'inc', '-c', 'x.c');
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
  });

  it('-show prints the clang command with the user\'s words in order and runs nothing', async () => {
    const out = join(dir, 'never.wasm');
    const r = await roam('mpicc', '-show', '-D', 'V="1 2"', 'a.c', '-o', out, '-lm');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^clang --target=wasm32-wasi .*-I \S+guest-sdk\/include .* -D 'V="1 2"' a\.c -o \S+never\.wasm -lm -L \S+guest-sdk\/lib -Wl,--export=malloc,--export=free,--export-table,--strip-all\n$/);
    expect(existsSync(out)).toBe(false);
    const c = await roam('mpicc', '-show', '-c', 'a.c');
    expect(c.stdout).not.toContain('-Wl,'); // no link flags when only compiling
  });

  it('--version names roam, its mpi.h and clang for wasm32', async () => {
    const r = await roam('mpicc', '--version');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^roam mpicc \d+\.\d+\.\d+: C for wasm32-wasi MPI guests against \S+mpi\.h/);
    expect(r.stdout).toMatch(/clang version [\d.]+[\s\S]*Target: wasm32-unknown-wasi/);
  });

  it('shows clang\'s warnings on a successful build', async () => {
    const src = write('warn.c', '#include <mpi.h>\nint main(int argc, char **argv) { int unused; MPI_Init(&argc, &argv); MPI_Finalize(); return 0; }\n');
    const r = await roam('cc', '-Wall', src, '-o', join(dir, 'warn.wasm'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: unused variable 'unused' \[-Wunused-variable\]/);
    expect(wasmOk(join(dir, 'warn.wasm'))).toBe(true);
  });

  it('writes a.out like mpicc when linking without -o, and NAME.o with -c', () => {
    const d = mkdtempSync(join(dir, 'default-'));
    writeFileSync(join(d, 'hello.c'), '#include <mpi.h>\n#include <stdio.h>\nint main(int c, char **v) { MPI_Init(&c, &v); puts("hi"); MPI_Finalize(); return 0; }\n');
    const r = sh(d, 'roam mpicc hello.c && roam mpicc -c hello.c');
    expect(r.status, r.stderr).toBe(0);
    expect(wasmOk(join(d, 'a.out'))).toBe(true);
    expect(readFileSync(join(d, 'hello.o')).subarray(0, 4)).toEqual(Buffer.from('\0asm'));
  });

  it('uses roam\'s mpi.h even when the build adds another MPI\'s include directory with -I', async () => {
    const d = mkdtempSync(join(dir, 'other-mpi-'));
    mkdirSync(join(d, 'mpich'));
    // Another MPI's header: plain declarations (env imports at link), another ABI.
    writeFileSync(join(d, 'mpich/mpi.h'), 'typedef int MPI_Comm;\n#define MPI_COMM_WORLD 0x44000000\nint MPI_Init(int *, char ***);\nint MPI_Comm_rank(MPI_Comm, int *);\nint MPI_Finalize(void);\n');
    writeFileSync(join(d, 'p.c'), '#include <mpi.h>\n#include <stdio.h>\nint main(int c, char **v) { int r; MPI_Init(&c, &v); MPI_Comm_rank(MPI_COMM_WORLD, &r); printf("rank %d\\n", r); MPI_Finalize(); return 0; }\n');
    const b = sh(d, 'roam mpicc -I mpich -Wall -Wextra p.c -o p.wasm');
    expect(b.status, b.stderr).toBe(0);
    expect(b.stderr).toBe('');
    const r = await roam('mpirun', '-np', '2', join(d, 'p.wasm'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('rank 1');
  });

  it('links objects and an llvm-ar archive given by path; -g keeps debug info, the default strips it', async () => {
    const d = mkdtempSync(join(dir, 'ar-'));
    writeFileSync(join(d, 'main.c'), '#include <mpi.h>\n#include <stdio.h>\nint twice(int);\nint main(int c, char **v) { int r; MPI_Init(&c, &v); MPI_Comm_rank(MPI_COMM_WORLD, &r); printf("rank %d twice %d\\n", r, twice(r + 20)); MPI_Finalize(); return 0; }\n');
    writeFileSync(join(d, 'twice.c'), 'int twice(int x) { return 2 * x; }\n');
    const b = sh(d, 'roam mpicc -g -c main.c twice.c && llvm-ar rcs libtw.a twice.o && roam mpicc -g main.o libtw.a -o dbg.wasm && roam mpicc main.o libtw.a -o rel.wasm');
    expect(b.status, b.stderr).toBe(0);
    const sections = (p: string) => WebAssembly.Module.customSections(new WebAssembly.Module(readFileSync(join(d, p))), '.debug_info').length;
    expect(sections('dbg.wasm')).toBe(1);
    expect(sections('rel.wasm')).toBe(0);
    const r = await roam('mpirun', '-np', '2', join(d, 'rel.wasm'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('rank 1 twice 42');
  });
});

describe.skipIf(skip)('roam cc bad inputs: one clear line, clang\'s own message kept', () => {
  it('names a missing source file', async () => {
    const r = await roam('mpicc', join(dir, 'missing.c'), '-o', join(dir, 'm.wasm'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/roam mpicc: clang failed: no such file or directory: '\S*missing\.c'/);
  });

  it('refuses an MPI function roam lacks at compile time, naming it (not at link or load)', async () => {
    const src = write('io.c', '#include <mpi.h>\nint main(int argc, char **argv) { MPI_File f; MPI_Init(&argc, &argv);\n  MPI_File_open(MPI_COMM_WORLD, "x", 0, MPI_INFO_NULL, &f); MPI_Finalize(); return 0; }\n');
    const r = await roam('mpicc', src, '-o', join(dir, 'io.wasm'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: implicit declaration of function 'MPI_File_open'");
    expect(r.stderr).toContain("roam mpicc: MPI_File_open is not provided by roam: roam's mpi.h does not declare it");
    expect(existsSync(join(dir, 'io.wasm'))).toBe(false);
  });

  it('says when an MPI function is used without #include <mpi.h>', async () => {
    const src = write('noinc.c', 'int main(int argc, char **argv) { MPI_Init(&argc, &argv); return 0; }\n');
    const r = await roam('cc', '-c', src, '-o', join(dir, 'noinc.o'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('roam cc: MPI_Init is declared in <mpi.h>, which this file does not include');
  });

  it('makes any implicit declaration an error, as modern compilers do', async () => {
    const src = write('impl.c', 'int main(void) { return helper(); }\n');
    const r = await roam('cc', '-c', src, '-o', join(dir, 'impl.o'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/roam cc: clang failed: .*implicit declaration of function 'helper'/);
  });

  it('names the package when clang is missing', async () => {
    const r = await run('sh', ['-c', `ROAM_CLANG=/nonexistent/clang "${process.execPath}" "${ROAM}" mpicc -c x.c`]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("roam mpicc: /nonexistent/clang not found: install Debian's clang (apt-get install clang lld wasi-libc libclang-rt-dev-wasm32)");
  });

  it('names the package when a GNU ar archive needs llvm-ar and it is missing', () => {
    const d = mkdtempSync(join(dir, 'noar-'));
    writeFileSync(join(d, 'main.c'), 'int twice(int);\nint main(void) { return twice(0); }\n');
    writeFileSync(join(d, 'twice.c'), 'int twice(int x) { return 2 * x; }\n');
    const r = sh(d, 'roam cc -c main.c twice.c && ar rc libtw.a twice.o && ROAM_LLVM_AR=/nonexistent/llvm-ar roam cc main.o libtw.a -o p.wasm');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("roam cc: libtw.a has no symbol index (GNU ar writes none for wasm objects) and llvm-ar, which adds one, is missing: install Debian's llvm");
  });
});
