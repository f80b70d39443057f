import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RoamError } from '../errors.ts';
import { validateManifest, type Manifest } from '../bundle/manifest.ts';
import { embedManifest } from '../bundle/bundle.ts';
import { sharedCompiler, type AscCompiler, type Diagnostic } from './asc.ts';
import { BuildError, readJsonFile, where } from './diagnostics.ts';
import { cachedCompile, compileKey, storeCompile } from './compile-cache.ts';

/** The AssemblyScript guest SDK, served to the compiler as the package `roam`. */
export const SDK_DIR = fileURLToPath(new URL('../../guest-sdk/assembly/', import.meta.url));

/** A virtual entry that pulls the SDK's ABI exports in through the package path (one copy of the SDK). */
const ABI_ENTRY = '__roam_abi__.ts';

export interface BuildResult {
  outFile: string;
  bytes: Uint8Array;
  manifest: Manifest;
  /** Source files the compiler read (project and SDK). */
  files: string[];
  warnings: Diagnostic[];
  /** True when the sources were unchanged since the last cached compile (asc did not run). */
  cached: boolean;
}

export interface BuildOptions {
  outFile?: string;
  /** asc optimisation (default -O3). */
  optimize?: boolean;
  /** Called with each step (the CLI shows it on a terminal). */
  onProgress?: (step: string) => void;
  /** The compiler thread to use (default: the process's shared one). */
  compiler?: AscCompiler;
  /** Reuse the last compile when no input changed (build/.roam-compile.*; the CLI turns it on). */
  cache?: boolean;
}

/**
 * Builds an AssemblyScript guest project into one .wasm bundle.
 * The project holds `roam.json`: the manifest, plus build-only keys `entry` (default `assembly/index.ts`)
 * and `build.enable` (extra Wasm features for asc, e.g. `["simd"]`).
 * `import ... from "roam"` resolves to guest-sdk/assembly; a virtual second entry re-exports the SDK's
 * `roam_in`/`roam_out` (through the same package path, so the SDK is compiled once), and `abort` is
 * routed to `roam:core`.
 */
export async function buildProject(dir: string, opts: BuildOptions = {}): Promise<BuildResult> {
  const projectDir = resolve(dir);
  const configPath = join(projectDir, 'roam.json');
  if (!existsSync(configPath)) throw new RoamError('E_BUILD', `no roam.json in ${projectDir} (create one with roam init)`);
  const config = readJsonFile(configPath, relative(process.cwd(), configPath) || configPath) as Record<string, unknown>;
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new RoamError('E_BUILD', 'roam.json must hold a JSON object');
  const { entry = 'assembly/index.ts', build = {}, ...manifestRaw } = config;
  const enable = (build as { enable?: unknown }).enable ?? [];
  if (!Array.isArray(enable) || enable.some((f) => typeof f !== 'string' || !/^[a-z0-9-]+$/.test(f))) throw new RoamError('E_BUILD', 'roam.json build.enable must be a list of AssemblyScript feature names (e.g. ["simd"])');
  const manifest = validateManifest(manifestRaw);
  if (typeof entry !== 'string' || !existsSync(join(projectDir, entry))) throw new RoamError('E_BUILD', `entry file '${String(entry)}' not found in ${projectDir}`);

  const args = [
    entry, ABI_ENTRY,
    '--outFile', 'out.wasm',
    '--runtime', 'incremental',
    '--use', 'abort=~lib/roam/core/roam_abort',
    ...(opts.optimize === false ? ['-O0'] : ['-O3']),
    ...(enable as string[]).flatMap((f) => ['--enable', f]),
  ];
  const key = compileKey(args, ascVersion(), SDK_DIR, projectDir);
  const cached = opts.cache ? cachedCompile(projectDir, key) : null;
  if (cached) {
    opts.onProgress?.(`${manifest.name}: sources unchanged since the last build`);
    return finish(projectDir, cached, manifest, opts, { files: [], warnings: [], cached: true });
  }
  opts.onProgress?.(`compiling ${manifest.name} (AssemblyScript${opts.optimize === false ? ', -O0' : ''})`);
  const r = await (opts.compiler ?? sharedCompiler).compile({ projectDir, sdkDir: SDK_DIR, args, virtual: { [ABI_ENTRY]: 'export { roam_in, roam_out } from "roam/abi";\n' } });
  if (!r.ok) {
    const first = r.diagnostics.find((d) => d.category === 'error');
    if (!first) throw new RoamError('E_BUILD', `AssemblyScript compile failed: ${r.error ?? 'unknown error'}`);
    const errors = r.diagnostics.filter((d) => d.category === 'error').length;
    throw new BuildError(`${where(first) ? `${where(first)}: ` : ''}error TS${first.code}: ${first.message}${errors > 1 ? ` (and ${errors - 1} more)` : ''}`, r.diagnostics);
  }
  const wasm = r.outputs['out.wasm'];
  if (!(wasm instanceof Uint8Array)) throw new RoamError('E_BUILD', 'compiler produced no .wasm');
  if (opts.cache) storeCompile(projectDir, key, r.files, r.probes, wasm);
  return finish(projectDir, wasm, manifest, opts, { files: r.files, warnings: r.diagnostics.filter((d) => d.category === 'warning'), cached: false });
}

/** Embeds the manifest (always: roam.json may change without the sources) and writes the bundle. */
function finish(projectDir: string, wasm: Uint8Array, manifest: Manifest, opts: BuildOptions, rest: Pick<BuildResult, 'files' | 'warnings' | 'cached'>): BuildResult {
  const bytes = embedManifest(wasm, manifest);
  const outFile = resolve(opts.outFile ?? join(projectDir, 'build', `${manifest.name}.wasm`));
  mkdirSync(join(outFile, '..'), { recursive: true });
  writeFileSync(outFile, bytes);
  return { outFile: relative(process.cwd(), outFile) || outFile, bytes, manifest, ...rest };
}

let version: string | undefined;
/** assemblyscript's version, part of the compile cache's key. */
function ascVersion(): string {
  version ??= String(JSON.parse(readFileSync(createRequire(import.meta.url).resolve('assemblyscript/package.json'), 'utf8')).version);
  return version;
}
