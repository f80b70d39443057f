import { readFileSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve, relative, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RoamError } from '../errors.ts';
import { validateManifest, type Manifest } from '../bundle/manifest.ts';
import { embedManifest } from '../bundle/bundle.ts';

/** The AssemblyScript guest SDK, served to the compiler as the package `roam`. */
export const SDK_DIR = fileURLToPath(new URL('../../guest-sdk/assembly/', import.meta.url));

/** A virtual entry that pulls the SDK's ABI exports in through the package path (one copy of the SDK). */
const ABI_ENTRY = '__roam_abi__.ts';

export interface BuildResult {
  outFile: string;
  bytes: Uint8Array;
  manifest: Manifest;
}

export interface BuildOptions {
  outFile?: string;
  /** asc optimisation (default -O3). */
  optimize?: boolean;
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
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    throw new RoamError('E_BUILD', `roam.json is not valid JSON: ${(e as Error).message}`);
  }
  const { entry = 'assembly/index.ts', build = {}, ...manifestRaw } = config;
  const enable = (build as { enable?: unknown }).enable ?? [];
  if (!Array.isArray(enable) || enable.some((f) => typeof f !== 'string' || !/^[a-z0-9-]+$/.test(f))) throw new RoamError('E_BUILD', 'roam.json build.enable must be a list of AssemblyScript feature names (e.g. ["simd"])');
  const manifest = validateManifest(manifestRaw);
  if (typeof entry !== 'string' || !existsSync(join(projectDir, entry))) throw new RoamError('E_BUILD', `entry file '${String(entry)}' not found in ${projectDir}`);

  const { default: asc } = await import('assemblyscript/asc');
  const outputs = new Map<string, Uint8Array | string>();
  const stderr: string[] = [];
  const toProject = (name: string, baseDir: string) => (isAbsolute(name) ? name : join(projectDir, baseDir, name));
  const sdkFile = (name: string): string | null => {
    const m = /node_modules\/roam\/(.*)$/.exec(name);
    return m ? join(SDK_DIR, m[1]!) : null;
  };
  const args = [
    entry, ABI_ENTRY,
    '--outFile', 'out.wasm',
    '--runtime', 'incremental',
    '--use', 'abort=~lib/roam/core/roam_abort',
    ...(opts.optimize === false ? ['-O0'] : ['-O3']),
    ...(enable as string[]).flatMap((f) => ['--enable', f]),
  ];
  const { error } = await asc.main(args, {
    readFile(name: string, baseDir: string) {
      if (name === ABI_ENTRY) return 'export { roam_in, roam_out } from "roam/abi";\n';
      const p = sdkFile(name) ?? toProject(name, baseDir);
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return null;
      }
    },
    writeFile(name: string, data: Uint8Array | string) {
      outputs.set(name, data);
    },
    listFiles() {
      return [];
    },
    stdout: { write: () => true },
    stderr: { write: (s: string | Uint8Array) => (stderr.push(String(s)), true) },
  } as never);
  if (error) {
    const lines = stderr.join('').split('\n');
    const at = lines.findIndex((l) => /ERROR/.test(l));
    const where = lines.slice(at).find((l) => /└─ in /.test(l))?.replace(/.*└─ in /, ' in ') ?? '';
    const detail = at >= 0 ? lines[at]! + where : error.message;
    throw new RoamError('E_BUILD', `AssemblyScript compile failed: ${detail.trim()}`);
  }
  const wasm = outputs.get('out.wasm');
  if (!(wasm instanceof Uint8Array)) throw new RoamError('E_BUILD', 'compiler produced no .wasm');
  const bytes = embedManifest(wasm, manifest);
  const outFile = resolve(opts.outFile ?? join(projectDir, 'build', `${manifest.name}.wasm`));
  mkdirSync(join(outFile, '..'), { recursive: true });
  writeFileSync(outFile, bytes);
  return { outFile: relative(process.cwd(), outFile) || outFile, bytes, manifest };
}
