// Builds the wasi:http guests of test/fixtures/foreign with other toolchains than roam's: clang + wasi-libc
// (C) and Debian's rustc (Rust, std on wasm32-wasi). Each is a core module importing WASI preview 1; jco's
// wasm-tools embeds the WIT world and makes a component with the preview 1 adapter jco ships, which is how
// cargo-component, TinyGo's older releases and componentize-dotnet make theirs. No manifest is attached:
// the tests deploy the plain .wasm. Outputs are cached in test/fixtures/foreign/build/ (git-ignored) by the
// hash of the sources, the compiler's version and jco's.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './build.ts';
import { rustForWasi } from './system.ts';

export type Toolchain = 'c' | 'rust';
const DIR = join(ROOT, 'test/fixtures/foreign');
const OUT = join(DIR, 'build');

/**
 * The world the guests are embedded against: wasi:http/proxy at 0.2.0 (what cargo-component, TinyGo and
 * componentize-dotnet target), from roam's WASI WIT with the version set back, plus the preopens
 * interface the C guest calls to show it has none.
 */
function worldWit(): string {
  const wit = readFileSync(join(ROOT, 'guest-sdk/wit/wasi-http.wit'), 'utf8').replaceAll('0.2.10', '0.2.0');
  return wit.replace('include wasi:http/proxy@0.2.0;', 'include wasi:http/proxy@0.2.0;\n  import wasi:filesystem/preopens@0.2.0;');
}

/** The compiler command for a toolchain: argv and the sources it reads. */
function compiler(t: Toolchain, out: string): { argv: string[]; sources: string[] } {
  if (t === 'c') {
    const sources = [join(DIR, 'hello.c'), join(DIR, 'wasi-http.h')];
    return { argv: ['clang', '--target=wasm32-wasi', '-mexec-model=reactor', '-O2', '-o', out, sources[0]!], sources };
  }
  const rust = rustForWasi();
  if (!rust) throw new Error('no rustc with the wasm32-wasi standard library (apt-get install rustc libstd-rust-dev-wasm32)');
  const src = join(DIR, 'hello.rs');
  return { argv: [rust.rustc, '--edition', '2021', '--crate-type', 'cdylib', '--target', rust.target, '-O', '-C', 'panic=abort', '-C', 'strip=debuginfo', '-o', out, src], sources: [src] };
}

const version = (bin: string) => execFileSync(bin, ['--version'], { encoding: 'utf8' });
const jcoVersion = () => JSON.parse(readFileSync(join(ROOT, 'node_modules/@bytecodealliance/jco/package.json'), 'utf8')).version as string;

/** Writes through a rename, so a parallel test file never reads half a file. */
function put(file: string, bytes: Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

export interface ForeignGuest {
  /** The compiler's core module (imports WASI preview 1 and wasi:http through the canonical ABI). */
  core: string;
  /** The core module with the WIT world embedded (wit-bindgen's output, before `component new`). */
  embedded: string;
  /** The component (preview 1 adapter included), without a roam manifest. */
  component: string;
}

/** Builds (or reuses) a toolchain's guest; returns the paths of its three stages. */
export async function foreignGuest(t: Toolchain): Promise<ForeignGuest> {
  mkdirSync(OUT, { recursive: true });
  const probe = compiler(t, '');
  const h = createHash('sha256').update(version(probe.argv[0]!)).update(jcoVersion()).update(worldWit());
  for (const s of probe.sources) h.update(readFileSync(s));
  const key = `${t}-${h.digest('hex').slice(0, 16)}`;
  const paths = { core: join(OUT, `${key}.core.wasm`), embedded: join(OUT, `${key}.embedded.wasm`), component: join(OUT, `${key}.component.wasm`) };
  if (existsSync(paths.component)) return paths;
  const tmpCore = `${paths.core}.${process.pid}.build`;
  const { argv } = compiler(t, tmpCore);
  execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  renameSync(tmpCore, paths.core);
  const tools = await import('@bytecodealliance/jco');
  const embedded = await tools.componentEmbed({ binary: readFileSync(paths.core), witSource: worldWit(), world: 'proxy' });
  put(paths.embedded, embedded);
  const adapter = readFileSync(tools.preview1AdapterReactorPath());
  put(paths.component, await tools.componentNew(embedded, [['wasi_snapshot_preview1', adapter]]));
  return paths;
}
