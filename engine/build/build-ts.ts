/**
 * `roam build` for a TypeScript guest project (`"lang": "ts"` in roam.json): esbuild strips types and
 * bundles the project with roam/guest (guest-sdk/ts) into one minified script, the refusal check runs on
 * each of the project's own files, the code goes into a `roam.js` custom section next to the manifest,
 * and the result is loaded once in the engine (syntax QuickJS accepts, every declared export present).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { dirname, join, relative, resolve } from 'node:path';

const execFileP = promisify(execFile);
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { build, transform } from 'esbuild';
import { RoamError } from '../errors.ts';
import { embedManifest } from '../bundle/bundle.ts';
import { validateManifest, type Manifest } from '../bundle/manifest.ts';
import { Engine } from '../runtime/engine.ts';
import { ENGINE_HASH, EMPTY_MODULE, jsSection } from '../bundle/js-section.ts';
import { refusals } from './ts-refuse.ts';
import { concat } from '../bundle/leb.ts';

/** The TypeScript guest SDK, resolved for `import … from "roam/guest"`. */
export const TS_SDK = fileURLToPath(new URL('../../guest-sdk/ts/guest.ts', import.meta.url));
/** Largest bundle `roam build` writes for a TS guest. */
export const MAX_TS_BUNDLE = 64 * 1024;

export interface TsBuildResult {
  outFile: string;
  bytes: Uint8Array;
  manifest: Manifest;
  /** Milliseconds the build took (esbuild, checks, section, test load). */
  ms: number;
}

/** True when roam.json selects the QuickJS target. */
export function isTsProject(dir: string): boolean {
  const p = join(resolve(dir), 'roam.json');
  if (!existsSync(p)) return false;
  try {
    const lang = JSON.parse(readFileSync(p, 'utf8')).lang;
    return lang === 'ts' || lang === 'js';
  } catch {
    return false;
  }
}

export interface TsBuildOptions {
  outFile?: string;
  /** Type-check against roam/guest and the manifest (default true; needs TypeScript 7 installed). */
  check?: boolean;
}

export async function buildTsProject(dir: string, opts: TsBuildOptions = {}): Promise<TsBuildResult> {
  const t0 = performance.now();
  const projectDir = resolve(dir);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(join(projectDir, 'roam.json'), 'utf8'));
  } catch (e) {
    throw new RoamError('E_BUILD', `roam.json: ${(e as Error).message}`);
  }
  const { lang: _lang, entry = 'src/index.ts', build: _build, ...manifestRaw } = config;
  const manifest = validateManifest(manifestRaw);
  if (typeof entry !== 'string' || !existsSync(join(projectDir, entry))) throw new RoamError('E_BUILD', `entry file '${String(entry)}' not found in ${projectDir}`);

  await refuseConstructs(projectDir, sources(projectDir));
  // The type check (signatures against the manifest) runs beside esbuild.
  const checked = opts.check === false ? Promise.resolve() : typeCheck(projectDir, entry, manifest);
  const out = await build({
    stdin: {
      contents: `import * as user from ${JSON.stringify('./' + entry)};\nimport { __install } from "roam/guest";\n__install(user);\n`,
      resolveDir: projectDir,
      sourcefile: '__roam_entry__.ts',
      loader: 'ts',
    },
    absWorkingDir: projectDir,
    bundle: true,
    format: 'iife',
    platform: 'neutral',
    target: 'es2022',
    minify: true,
    write: false,
    metafile: true,
    alias: { 'roam/guest': TS_SDK },
    logLevel: 'silent',
  }).catch((e: { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }) => {
    const first = e.errors?.[0];
    throw new RoamError('E_BUILD', first ? `${first.location ? `${first.location.file}:${first.location.line}: ` : ''}${first.text}` : String(e));
  });

  await checked;
  const code = out.outputFiles[0]!.text;
  const section = jsSection({ engine: ENGINE_HASH, format: 'source', code });
  const bytes = embedManifest(concat([EMPTY_MODULE, section]), manifest);
  if (bytes.length > MAX_TS_BUNDLE) throw new RoamError('E_BUILD', `bundle is ${bytes.length} bytes, over the ${MAX_TS_BUNDLE}-byte limit for TypeScript guests (${code.length} bytes of code)`);
  // Load it once: QuickJS accepts the code and every declared handler and function is exported.
  new Engine().deploy(bytes);

  const outFile = opts.outFile ? resolve(opts.outFile) : join(projectDir, 'build', `${manifest.name}.wasm`);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, bytes);
  return { outFile, bytes, manifest, ms: performance.now() - t0 };
}

/**
 * Type-checks the project with TypeScript 7 (tsgo, when installed) against roam/guest, plus a generated
 * file that assigns each declared handler export to `Handler` and each function export to `Fn`: a
 * signature that does not fit the manifest fails the build. Without TypeScript 7 it is skipped.
 */
async function typeCheck(projectDir: string, entry: string, manifest: Manifest): Promise<void> {
  let tsc: string;
  try {
    const pkg = createRequire(import.meta.url).resolve('typescript/package.json');
    if (!/^7\./.test(JSON.parse(readFileSync(pkg, 'utf8')).version)) return;
    tsc = join(dirname(pkg), 'bin/tsc');
  } catch {
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'roam-tscheck-'));
  const entryAbs = join(projectDir, entry).replace(/\.ts$/, '');
  const lines = [`import type { Handler, Fn } from "roam/guest";`, `import * as m from ${JSON.stringify(entryAbs)};`];
  manifest.handlers.forEach((h, i) => lines.push(`export const h${i}: Handler = m.${h.export};`));
  manifest.functions.forEach((f, i) => lines.push(`export const f${i}: Fn = m.${f.export};`));
  writeFileSync(join(dir, 'check.ts'), lines.join('\n') + '\n');
  const config = {
    compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022'], types: [], strict: true, noEmit: true, skipLibCheck: true, allowImportingTsExtensions: true, paths: { 'roam/guest': [TS_SDK] } },
    files: [join(dir, 'check.ts')],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
  try {
    await execFileP(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { timeout: 60_000 });
  } catch (e) {
    const outText = String((e as { stdout?: string }).stdout ?? (e as Error).message);
    const msgs = outText.split('\n').filter((l) => /error TS/.test(l)).map((l) => l.replace(dir + '/check.ts', 'roam.json (declared entries)').replace(projectDir + '/', ''));
    throw new RoamError('E_BUILD', `type check failed:\n  ${(msgs.length ? msgs : [outText.trim()]).slice(0, 20).join('\n  ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The project's own source files (not node_modules, build output or declaration files). */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'build' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (/\.(m?ts|m?js)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Refuses async, eval, timers… in the project's own files, before anything is bundled. */
async function refuseConstructs(projectDir: string, files: string[]): Promise<void> {
  const problems: string[] = [];
  for (const file of files) {
    const src = readFileSync(file, 'utf8');
    const js = (await transform(src, { loader: file.endsWith('.js') ? 'js' : 'ts', format: 'esm', target: 'esnext' })).code;
    for (const r of refusals(js)) problems.push(`${relative(projectDir, file)}: ${r.what} is not supported: ${r.why}${r.snippet ? ` (in: ${r.snippet})` : ''}`);
  }
  if (problems.length > 0) throw new RoamError('E_BUILD', `refused ${problems.length} construct(s) a roam TypeScript guest cannot run:\n  ${problems.join('\n  ')}`);
}
