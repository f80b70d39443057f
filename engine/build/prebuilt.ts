import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { RoamError } from '../errors.ts';
import { customSections, parseModule, type WasmModule } from '../bundle/wasm-module.ts';
import { embedManifest, MANIFEST_SECTION } from '../bundle/bundle.ts';
import { embedComponentManifest, isComponent, parseComponent } from '../bundle/component-binary.ts';
import { validateManifest, type Manifest } from '../bundle/manifest.ts';
import { componentKind } from '../admission/import-policy.ts';
import { readJsonFile } from './diagnostics.ts';

/**
 * A .wasm made by another toolchain (cargo-component, TinyGo, componentize-dotnet, clang, wit-bindgen…)
 * deployed as it is: roam writes its manifest, embedded the way `roam build` embeds it (a `roam.manifest`
 * custom section). The fields come from the command line (`roam deploy app.wasm --name N …`) or from a
 * roam.json whose `entry` is the .wasm.
 */
export interface PrebuiltFields {
  /** Function name (`/fn/NAME`); default: the manifest's, else the file's base name. */
  name?: string;
  version?: string;
  /** Capabilities to grant (`wasi:sockets`, `wasi:http`, `log`, …), added to the manifest's. */
  allow?: string[];
  /** Linear memory cap in MiB (the manifest's limits.memoryPages = MiB × 16). */
  memoryMiB?: number;
  /** Fuel per call. */
  fuel?: number;
  /** A core module's export that serves the function (default: the function's name). */
  export?: string;
}

/** Defaults for a .wasm without a manifest: runtimes of other languages need more than an AssemblyScript handler. */
export const PREBUILT_MEMORY_MIB = 16;
/** Fuel per call for a component without a manifest: the engine's cap (a Go, .NET or JS runtime initialises itself on the first call). */
export const PREBUILT_COMPONENT_FUEL = 1_000_000_000;

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** What the bytes are: a core module, a component, or neither (then refused, naming what the file starts with). */
export function wasmKind(bytes: Uint8Array, what: string): 'module' | 'component' {
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new RoamError('E_MALFORMED', `${what} is neither a WebAssembly core module nor a component: it does not start with \\0asm (${bytes.length} bytes${head ? `, first: ${head}` : ''})`);
  }
  if (isComponent(bytes)) return 'component';
  if (bytes[4] === 1 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0) return 'module';
  throw new RoamError('E_MALFORMED', `${what} is neither a WebAssembly core module (version 1) nor a component (version 0x0d, layer 1): its header says version ${bytes[4]! | (bytes[5]! << 8)}, layer ${bytes[6]! | (bytes[7]! << 8)}`);
}

/** The manifest already in the file, or null. Malformed sections are the verifier's to report. */
function existingManifest(bytes: Uint8Array, kind: 'module' | 'component'): Record<string, unknown> | null {
  const sections = kind === 'component' ? (parseComponent(bytes).customSections.get(MANIFEST_SECTION) ?? []) : customSections(parseModule(bytes), MANIFEST_SECTION);
  if (sections.length !== 1) return null;
  try {
    return JSON.parse(new TextDecoder().decode(sections[0])) as Record<string, unknown>;
  } catch {
    return null;
  }
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

/** `my_app.component.wasm` → `my_app`; refused (asking for --name) when no valid name comes out. */
function nameFromFile(file: string): string {
  const n = basename(file).replace(/\..*$/, '');
  if (!NAME_RE.test(n)) throw new RoamError('E_USAGE', `cannot take a function name from '${basename(file)}': give --name NAME (letters, digits, . _ -)`);
  return n;
}

/**
 * Returns the bytes with a manifest embedded: the file's own manifest (if any) with `fields` over it, or
 * one written from `fields` alone. A core module whose custom sections carry a WIT world (wit-bindgen's
 * output before `wasm-tools component new`) is made into a component first, with the WASI preview 1 adapter.
 * Refuses a file that is no Wasm, and a component exporting nothing roam can serve (naming its exports).
 */
export async function withManifest(bytes: Uint8Array, file: string, fields: PrebuiltFields, base?: Record<string, unknown>): Promise<{ bytes: Uint8Array; manifest: Manifest; kind: 'module' | 'component'; wrapped: boolean; written: boolean }> {
  let kind = wasmKind(bytes, file);
  let wrapped = false;
  if (kind === 'module') {
    const m = parseOrRefuse(bytes, file);
    if (m.sections.some((s) => s.id === 0 && s.name?.startsWith('component-type'))) {
      bytes = await newComponent(bytes, m, file);
      kind = 'component';
      wrapped = true;
    }
  }
  const own = base ? null : existingManifest(bytes, kind);
  const given = Object.values(fields).some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0));
  if (own && !given) return { bytes, manifest: validateManifest(own), kind, wrapped, written: false };
  const raw: Record<string, unknown> = { ...(own ?? base ?? {}) };
  const name = fields.name ?? (typeof raw.name === 'string' ? raw.name : nameFromFile(file));
  raw.name = name;
  raw.version = fields.version ?? raw.version ?? '0.0.0';
  const caps = Array.isArray(raw.capabilities) ? (raw.capabilities as unknown[]) : [];
  raw.capabilities = [...new Set([...caps, ...(fields.allow ?? [])])];
  const limits = raw.limits && typeof raw.limits === 'object' && !Array.isArray(raw.limits) ? { ...(raw.limits as Record<string, unknown>) } : {};
  if (fields.memoryMiB !== undefined) limits.memoryPages = mibToPages(fields.memoryMiB);
  else limits.memoryPages ??= mibToPages(PREBUILT_MEMORY_MIB);
  if (fields.fuel !== undefined) limits.fuel = fields.fuel;
  else if (kind === 'component') limits.fuel ??= PREBUILT_COMPONENT_FUEL;
  raw.limits = limits;
  if (kind === 'component') {
    const info = parseComponent(bytes);
    const served = componentKind(info.exports, name);
    // A function component serves one function: the bundle's name (a --name renames both).
    const declared = Array.isArray(raw.functions) && raw.functions.length > 0 && !fields.name;
    if (served.kind !== 'roam-message' && !declared) raw.functions = [{ name }];
    if (served.kind === 'roam-message' && !(Array.isArray(raw.handlers) && raw.handlers.length > 0)) {
      throw new RoamError('E_MANIFEST', `${file} is a message-handler component (${served.export}): declare its handlers (name, type, regions) in a roam.json whose entry is the .wasm`);
    }
    const manifest = validateManifest(raw);
    return { bytes: embedComponentManifest(bytes, manifest), manifest, kind, wrapped, written: true };
  }
  const m = parseOrRefuse(bytes, file);
  const declared = (Array.isArray(raw.functions) && raw.functions.length > 0) || (Array.isArray(raw.handlers) && raw.handlers.length > 0);
  if (!declared) {
    const exp = fields.export ?? name;
    const funcs = m.exports.filter((e) => e.kind === 'function').map((e) => e.name);
    if (!funcs.includes(exp)) throw new RoamError('E_EXPORT', `core module ${file} exports no function '${exp}' to serve as function '${name}' (its exported functions: ${funcs.join(', ') || 'none'}); give --export NAME`);
    raw.functions = [{ name, export: exp }];
  }
  const manifest = validateManifest(raw);
  return { bytes: embedManifest(bytes, manifest), manifest, kind, wrapped, written: true };
}

function mibToPages(mib: number): number {
  if (!Number.isFinite(mib) || mib <= 0 || mib > 4096) throw new RoamError('E_USAGE', `memory must be in 1..4096 MiB, not ${mib}`);
  return Math.ceil(mib * 16);
}

function parseOrRefuse(bytes: Uint8Array, file: string): WasmModule {
  try {
    return parseModule(bytes);
  } catch (e) {
    throw new RoamError('E_MALFORMED', `${file}: malformed core module: ${(e as Error).message}`);
  }
}

/** wit-bindgen's core module → a component: jco's wasm-tools with the WASI preview 1 adapter it ships (reactor, or command for `_start`). */
async function newComponent(bytes: Uint8Array, m: WasmModule, file: string): Promise<Uint8Array> {
  const tools = await import('@bytecodealliance/jco');
  const command = m.exports.some((e) => e.name === '_start');
  const usesPreview1 = m.imports.some((i) => i.module === 'wasi_snapshot_preview1');
  try {
    const adapters: Array<[string, Uint8Array]> = usesPreview1 ? [['wasi_snapshot_preview1', readFileSync(command ? tools.preview1AdapterCommandPath() : tools.preview1AdapterReactorPath())]] : [];
    return await tools.componentNew(bytes, adapters);
  } catch (e) {
    throw new RoamError('E_MALFORMED', `${file}: a core module with a WIT world, but it does not make a component: ${String((e as Error)?.message ?? e).split('\n').slice(0, 3).join(' ')}`);
  }
}

/** True when a project's roam.json names a prebuilt .wasm as its entry (built by another toolchain). */
export function isPrebuiltProject(dir: string): boolean {
  const p = join(resolve(dir), 'roam.json');
  if (!existsSync(p)) return false;
  try {
    const entry = JSON.parse(readFileSync(p, 'utf8')).entry;
    return typeof entry === 'string' && entry.endsWith('.wasm');
  } catch {
    return false;
  }
}

export interface PrebuiltBuildResult {
  outFile: string;
  bytes: Uint8Array;
  manifest: Manifest;
  kind: 'module' | 'component';
}

/**
 * "Builds" a project whose entry is a .wasm: the manifest fields of roam.json (name, version, functions,
 * handlers, capabilities, limits, …) embedded into a copy of the file at build/<name>.wasm. Nothing is
 * compiled: the .wasm is the other toolchain's output (its build runs before, e.g. `cargo component build`).
 */
export async function buildPrebuiltProject(dir: string, opts: { outFile?: string } = {}): Promise<PrebuiltBuildResult> {
  const projectDir = resolve(dir);
  const configPath = join(projectDir, 'roam.json');
  const config = readJsonFile(configPath, relative(process.cwd(), configPath) || configPath);
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new RoamError('E_BUILD', 'roam.json must hold a JSON object');
  const { entry, world: _world, lang: _lang, ...fields } = config as Record<string, unknown>;
  const file = join(projectDir, String(entry));
  const shown = relative(process.cwd(), file) || file;
  if (!existsSync(file)) throw new RoamError('E_BUILD', `entry ${shown} not found: build it with its own toolchain first (roam.json "entry" names a prebuilt .wasm)`);
  const r = await withManifest(readFileSync(file), shown, {}, fields);
  const outFile = resolve(opts.outFile ?? join(projectDir, 'build', `${r.manifest.name}.wasm`));
  if (outFile === file) throw new RoamError('E_BUILD', `the output would overwrite the entry ${shown}: give another -o`);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, r.bytes);
  return { outFile: relative(process.cwd(), outFile) || outFile, bytes: r.bytes, manifest: r.manifest, kind: r.kind };
}
