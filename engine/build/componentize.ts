import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RoamError } from '../errors.ts';
import { validateManifest, type Manifest } from '../bundle/manifest.ts';
import { embedComponentManifest } from '../bundle/component-binary.ts';
import { cacheDir } from '../components/cache-dir.ts';
import { glueSource } from './component-glue.ts';
import { ROAM_WIT, ROAM_WIT_PACKAGE, WASI_HTTP_WIT } from './roam-wit.ts';
import { watToComponent } from './wat-component.ts';
import { readJsonFile } from './diagnostics.ts';


/**
 * StarlingMonkey features left out. roam world: stdio (console goes to the `log` capability instead),
 * http and fetch-event (a roam function is called through the `handler` export, not wasi:http).
 * wasi:http world: stdio only (its cli/filesystem/terminal imports; console still reaches stderr,
 * which roam forwards to the log).
 */
const DISABLED = { roam: ['stdio', 'http', 'fetch-event'], 'wasi-http': ['stdio'] } as const;
type World = keyof typeof DISABLED;
/** roam.json `world`: absent = roam's `function` world; `wasi:http/proxy` = a wasi:http component. */
const WORLDS: Record<string, World> = { 'roam:function/function': 'roam', 'wasi:http/proxy': 'wasi-http' };

export interface ComponentBuildResult {
  outFile: string;
  bytes: Uint8Array;
  manifest: Manifest;
  /** True when the component came from the on-disk cache (same bundled JS, WIT and toolchain). */
  cached: boolean;
  componentizeMs: number;
}

const JS_ENTRY = /\.(m?[jt]s)$/;

/** True when a project builds into a component: its entry is JS/TS (componentize-js) or WebAssembly text. */
export function isComponentProject(dir: string): boolean {
  const configPath = join(resolve(dir), 'roam.json');
  if (!existsSync(configPath)) return false;
  const entry = readConfig(resolve(dir)).entry;
  return typeof entry === 'string' && (JS_ENTRY.test(entry) || entry.endsWith('.wat')) && !entry.startsWith('assembly/');
}

function readConfig(projectDir: string): Record<string, unknown> {
  const configPath = join(projectDir, 'roam.json');
  if (!existsSync(configPath)) throw new RoamError('E_BUILD', `no roam.json in ${projectDir} (create one with roam init)`);
  const config = readJsonFile(configPath, relative(process.cwd(), configPath) || configPath);
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new RoamError('E_BUILD', 'roam.json must hold a JSON object');
  return config as Record<string, unknown>;
}

/**
 * Strips types and bundles the user's entry and its relative imports into one ES module: with roam's
 * glue for the roam world; as is for wasi:http (the module itself exports `incomingHandler` or listens
 * for `fetch`). WIT interfaces (`roam:*`, `wasi:*`) stay imports.
 */
async function bundleJs(projectDir: string, entry: string, world: World): Promise<string> {
  if (world === 'roam') refuseAsync(projectDir, entry);
  const esbuild = await import('esbuild');
  const input = world === 'roam'
    ? { stdin: { contents: glueSource(join(projectDir, entry), ROAM_WIT_PACKAGE), resolveDir: projectDir, sourcefile: '__roam_glue__.js', loader: 'js' as const } }
    : { entryPoints: [join(projectDir, entry)] };
  try {
    const r = await esbuild.build({
      ...input,
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      external: ['roam:*', 'wasi:*'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const exports = Object.values(r.metafile.outputs)[0]?.exports ?? [];
    if (world === 'wasi-http' && !exports.includes('incomingHandler')) {
      // Measured with componentize-js 0.23: a `fetch`-event component answers its first request, then traps.
      throw new RoamError('E_BUILD', `${entry} exports no 'incomingHandler': for world wasi:http/proxy, export incomingHandler = { handle(request, responseOut) } (see functions/hello-http). StarlingMonkey's fetch event (addEventListener('fetch')) serves only one request per instance (StarlingMonkey issue #247), and roam reuses instances`);
    }
    return r.outputFiles[0]!.text;
  } catch (e) {
    if (e instanceof RoamError) throw e;
    const errs = (e as { errors?: Array<{ text: string; location?: { file: string; line: number } }> }).errors;
    const first = errs?.[0];
    const where = first?.location ? ` (${first.location.file}:${first.location.line})` : '';
    throw new RoamError('E_BUILD', `cannot bundle ${entry}: ${first?.text ?? (e as Error).message}${where}`);
  }
}

/**
 * An async handler would build and deploy, then answer every call with a 500: awaiting a Promise inside
 * the component needs JSPI, which Node 20 lacks. Refused here, naming the line.
 */
function refuseAsync(projectDir: string, entry: string): void {
  const text = readFileSync(join(projectDir, entry), 'utf8');
  const m = /\basync\s+fetch\s*\(|\bfetch\s*:\s*async\b|\bexport\s+default\s+async\b/.exec(text);
  if (!m) return;
  const before = text.slice(0, m.index);
  const line = before.split('\n').length;
  const column = m.index - before.lastIndexOf('\n');
  const file = relative(process.cwd(), join(projectDir, entry)) || entry;
  throw new RoamError('E_BUILD', `${file}:${line}:${column}: the handler is async: Node 20 has no JSPI, so a component cannot wait for a Promise and every call would answer 500; return the response synchronously`);
}

function toolchainVersion(): string {
  const pkg = fileURLToPath(new URL('../../node_modules/@bytecodealliance/componentize-js/package.json', import.meta.url));
  return existsSync(pkg) ? String(JSON.parse(readFileSync(pkg, 'utf8')).version) : 'unknown';
}

/** Runs componentize-js (≈14 s on 2 cores), cached on disk by the hash of everything that goes in. */
async function componentizeCached(js: string, wit: string, world: World, onProgress?: (step: string) => void): Promise<{ component: Uint8Array; cached: boolean; ms: number }> {
  const key = createHash('sha256').update(js).update('\0').update(wit).update('\0').update(toolchainVersion()).update(DISABLED[world].join(',')).digest('hex');
  const dir = cacheDir('componentize');
  const file = join(dir, `${key}.wasm`);
  if (existsSync(file)) return { component: readFileSync(file), cached: true, ms: 0 };
  mkdirSync(dir, { recursive: true });
  onProgress?.('componentizing (componentize-js embeds a JS engine; minutes the first time, cached after)');
  // Another process (a parallel test file, a second build) componentizing the same input: wait for it.
  const lock = `${file}.lock`;
  if (!tryLock(lock)) {
    for (let waited = 0; waited < LOCK_STALE_MS && existsSync(lock) && !existsSync(file); waited += 250) await sleep(250);
    if (existsSync(file)) return { component: readFileSync(file), cached: true, ms: 0 };
    rmSync(lock, { force: true }); // stale: its owner died
    tryLock(lock);
  }
  try {
    return await componentizeNow(js, wit, world, dir, key, file);
  } finally {
    rmSync(lock, { force: true });
  }
}

const LOCK_STALE_MS = 5 * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function tryLock(lock: string): boolean {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

async function componentizeNow(js: string, wit: string, world: World, dir: string, key: string, file: string): Promise<{ component: Uint8Array; cached: boolean; ms: number }> {
  // componentize-js wants a file path for the source; WIT is passed as text (a witPath failed here with os error 44).
  const src = join(dir, `${key}.js`);
  writeFileSync(src, js);
  const { componentize } = await import('@bytecodealliance/componentize-js');
  const t0 = performance.now();
  let component: Uint8Array;
  try {
    ({ component } = await componentize({ sourcePath: src, witWorld: wit, worldName: world === 'roam' ? 'function' : 'proxy', disableFeatures: [...DISABLED[world]] } as never));
  } catch (e) {
    throw new RoamError('E_BUILD', `componentize-js failed: ${String((e as Error).message ?? e).split('\n').slice(0, 6).join(' ')}`);
  }
  const ms = performance.now() - t0;
  writeFileSync(`${file}.tmp`, component);
  renameSync(`${file}.tmp`, file);
  return { component, cached: false, ms };
}

/**
 * Builds a component project into a component bundle. A JS/TS entry (`entry: "handler.ts"`):
 * esbuild strips types and bundles, componentize-js embeds the JS engine. A `.wat` entry: wasm-tools
 * assembles and wraps it. Either way the manifest goes into a component-level `roam.manifest` section.
 */
/** Default fuel per call of a componentized JS/TS function (= the engine's default cap). */
export const JS_DEFAULT_FUEL = 1_000_000_000;

export async function buildComponentProject(dir: string, opts: { outFile?: string; onProgress?: (step: string) => void } = {}): Promise<ComponentBuildResult> {
  const projectDir = resolve(dir);
  const { entry, world: worldName, ...manifestRaw } = readConfig(projectDir);
  const world = worldName === undefined ? 'roam' : WORLDS[String(worldName)];
  if (!world) throw new RoamError('E_BUILD', `roam.json: unknown world '${String(worldName)}' (known: ${Object.keys(WORLDS).join(', ')})`);
  // A JS engine (StarlingMonkey) runs inside: its fuel-metered loops need far more fuel per call than
  // an AssemblyScript handler (the first call initialises the interpreter), so the default is the engine's cap.
  const raw = manifestRaw.limits;
  const limits = raw === undefined ? { fuel: JS_DEFAULT_FUEL } : raw && typeof raw === 'object' && !Array.isArray(raw) ? { fuel: JS_DEFAULT_FUEL, ...raw } : raw; // a bad value is the validator's to report
  const manifest = validateManifest({ ...manifestRaw, limits });
  if (typeof entry !== 'string' || !existsSync(join(projectDir, entry))) throw new RoamError('E_BUILD', `entry file '${String(entry)}' not found in ${projectDir}`);
  if (manifest.functions.length !== 1 || manifest.handlers.length > 0) throw new RoamError('E_BUILD', 'a JS/TS component project declares exactly one function and no message handlers');
  let built: { component: Uint8Array; cached: boolean; ms: number };
  if (entry.endsWith('.wat')) {
    opts.onProgress?.(`assembling ${entry} into a component (wasm-tools)`);
    const t0 = performance.now();
    built = { component: await watToComponent(join(projectDir, entry)), cached: false, ms: 0 };
    built.ms = performance.now() - t0;
  } else {
    opts.onProgress?.(`bundling ${entry} (esbuild)`);
    const js = await bundleJs(projectDir, entry, world);
    built = await componentizeCached(js, readFileSync(world === 'roam' ? ROAM_WIT : WASI_HTTP_WIT, 'utf8'), world, opts.onProgress);
  }
  const { component, cached, ms } = built;
  const bytes = embedComponentManifest(component, manifest);
  const outFile = resolve(opts.outFile ?? join(projectDir, 'build', `${manifest.name}.wasm`));
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, bytes);
  return { outFile: relative(process.cwd(), outFile) || outFile, bytes, manifest, cached, componentizeMs: ms };
}
