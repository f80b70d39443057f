import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RoamError } from '../errors.ts';
import { parseCc, shellQuote, type CcCommand } from './cc-args.ts';
import { indexArchives } from './cc-archives.ts';
import { explainFailure, missingClang } from './cc-diagnostics.ts';

/** guest-sdk/include: roam's own mpi.h. */
export const INCLUDE_DIR = fileURLToPath(new URL('../../guest-sdk/include', import.meta.url));
/** guest-sdk/lib: an empty libmpi.a, so the `-lmpi` of build scripts written for other MPIs links. */
export const LIB_DIR = fileURLToPath(new URL('../../guest-sdk/lib', import.meta.url));
const WASI_SYSROOT_INCLUDE = '/usr/include/wasm32-wasi';

/**
 * Flags before the user's for Debian's clang to build a wasm32-wasi MPI guest: roam's mpi.h,
 * wasi-libc only (-nostdlibinc so a missing header fails instead of falling back to the host's
 * /usr/include), -O2 unless the user's own -O comes later, an implicit declaration is an error (an
 * MPI function roam lacks must fail here, naming it, not at link), and no warning for compile flags
 * repeated on a link line (gcc-based mpicc is silent there; Makefiles do it all the time).
 */
export function compileFlags(color = false): string[] {
  return [
    // roam's mpi.h with -I ahead of the user's -I dirs (a Makefile's -I/usr/include/.../mpich must not win:
    // another MPI's header has another ABI and no roam:mpi imports), still quiet as a system header.
    '--target=wasm32-wasi', '--sysroot=/usr', '-nostdlibinc', '-I', INCLUDE_DIR, '--system-header-prefix=mpi.h', '-isystem', WASI_SYSROOT_INCLUDE,
    '-O2', '-Werror=implicit-function-declaration', '-Wno-unused-command-line-argument', ...(color ? ['-fcolor-diagnostics'] : []),
  ];
}

/**
 * Flags after the user's when linking: MPI calls stay `roam:mpi` imports (declared so in mpi.h), and
 * the host gets the function table and malloc/free it needs for user ops. Debug info is kept with -g.
 */
export function linkFlags(debug: boolean): string[] {
  return ['-L', LIB_DIR, `-Wl,--export=malloc,--export=free,--export-table${debug ? '' : ',--strip-all'}`];
}

/** clang's full argument list for one parsed command line. */
export function clangArgs(c: CcCommand, userArgs = c.args, color = false): string[] {
  return [...compileFlags(color), ...userArgs, ...(c.links ? linkFlags(c.debug) : [])];
}

/** Kept for build-examples and tests: compile `inputs` to `output`, throwing on failure. */
export function ccArgs(inputs: string[], output: string, extra: string[] = []): string[] {
  return clangArgs(parseCc([...extra, ...inputs, '-o', output]));
}

export function compileC(inputs: string[], output: string, extra: string[] = [], clang = process.env.ROAM_CLANG ?? 'clang'): void {
  const r = spawnSync(clang, ccArgs(inputs, output, extra), { encoding: 'utf8' });
  if (r.error) throw new RoamError('E_TOOLCHAIN', missingClang(clang, r.error as NodeJS.ErrnoException));
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new RoamError('E_COMPILE', explainFailure(r.stderr)[0]);
  }
}

function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/**
 * `roam cc` / `roam mpicc`: runs clang on the user's command line between roam's flags, streaming
 * clang's output (warnings included) as it comes; returns clang's exit code. On failure it adds one
 * `roam NAME:` line explaining the first error (an MPI function roam lacks, a missing package).
 */
export async function runCc(argv: string[], name: string, clang = process.env.ROAM_CLANG ?? 'clang', ui: CcUi = PLAIN): Promise<number> {
  const c = parseCc(argv);
  const say = (line: string) => ui.print(`roam ${name}: ${line}\n`);
  if (c.show) {
    const words = c.show === 'compile' ? compileFlags() : c.show === 'link' ? ['--target=wasm32-wasi', '--sysroot=/usr', ...linkFlags(c.debug)] : clangArgs(c);
    process.stdout.write(`${[clang, ...words].map(shellQuote).join(' ')}\n`);
    return 0;
  }
  if (c.version) {
    process.stdout.write(`roam ${name} ${version()}: C for wasm32-wasi MPI guests against ${INCLUDE_DIR}/mpi.h (MPI-5 ABI)\n`);
    argv = ['--version'];
  } else if (!argv.length) throw new RoamError('E_USAGE', `usage: roam ${name} [clang/mpicc options] FILE.c... [-o OUT]   (roam ${name} --help)`);
  let scratch = '';
  try {
    const userArgs = c.links ? indexArchives(c, () => (scratch ||= mkdtempSync(join(tmpdir(), 'roam-cc-'))), clang) : c.args;
    const args = c.version ? ['--target=wasm32-wasi', '--version'] : clangArgs(c, userArgs, !!process.stderr.isTTY);
    if (!c.version) ui.step(stepText(c));
    const code = await runClang(clang, args, say, ui);
    if (code === 0) ui.done();
    else ui.fail();
    return code;
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/** How `roam cc` reports: a step line while clang runs (a spinner on a terminal), clang's stderr through `print`. */
export interface CcUi {
  step(text: string): void;
  done(): void;
  fail(): void;
  print(text: string): void;
}
const PLAIN: CcUi = { step() {}, done() {}, fail() {}, print: (t) => void process.stderr.write(t) };

/** "compiling and linking ring.c (clang, wasm32-wasi)": what this clang run does. */
function stepText(c: CcCommand): string {
  const sources = c.inputs.filter((f) => /\.(c|i|s|S)$/.test(f)).length;
  const what = !c.links ? 'compiling' : sources ? 'compiling and linking' : 'linking';
  const files = c.inputs.map((f) => basename(f));
  return `${what} ${files.slice(0, 4).join(' ')}${files.length > 4 ? ` +${files.length - 4}` : ''} (clang, wasm32-wasi)`;
}

/** At most this much of clang's stderr is kept for the explanation (all of it is still shown). */
const KEEP = 256 * 1024;

function runClang(clang: string, args: string[], say: (line: string) => void, ui: CcUi): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(clang, args, { stdio: ['inherit', 'inherit', 'pipe'] });
    let err = '';
    let failed = false;
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (d: string) => {
      ui.print(d);
      if (err.length < KEEP) err += d;
    });
    p.on('error', (e: NodeJS.ErrnoException) => {
      failed = true;
      ui.fail();
      reject(new RoamError('E_TOOLCHAIN', missingClang(clang, e)));
    });
    p.on('close', (code, sig) => {
      if (failed) return;
      if (code === 0) return resolve(0);
      for (const line of explainFailure(err)) say(line);
      resolve(code ?? 128 + (sig ? (constants.signals[sig] ?? 0) : 0));
    });
  });
}
