import { RoamError } from '../errors.ts';
import { readBundle, type Bundle } from '../bundle/bundle.ts';
import { funcType, sigString, type WasmModule } from '../bundle/wasm-module.ts';
import { Reader } from '../bundle/leb.ts';
import { skipImmediates } from '../meter/instructions.ts';
import { FUEL_LEFT_EXPORT, GROW_FAILED_EXPORT, SET_FUEL_EXPORT } from '../meter/meter.ts';
import type { Capability } from '../capabilities/capability.ts';
import type { Manifest } from '../bundle/manifest.ts';
import { jsCodeOf } from '../bundle/js-section.ts';
import { verifyJsBundle } from './verify-js.ts';

/** What the engine allows, whatever a manifest asks for. */
export interface EngineLimits {
  /** Most linear memory pages a bundle may declare (64 KiB each). */
  maxMemoryPages: number;
  /** Most fuel per message; a manifest asking for more is capped. */
  maxFuel: number;
}

export const DEFAULT_ENGINE_LIMITS: EngineLimits = { maxMemoryPages: 1024, maxFuel: 1_000_000_000 };

/** The ABI every bundle exports besides its handlers and functions. */
const ABI_EXPORTS: Record<string, string> = { roam_in: '(i32)->i32', roam_out: '()->i32' };
const ENTRY_SIG = '(i32)->i32';

const refuse = (code: string, msg: string): never => {
  throw new RoamError(code, msg);
};

/**
 * Verifies a bundle before anything of it runs: a valid module with a manifest; every import from a
 * declared, allowed capability with the right signature; the ABI and every declared entry exported with
 * the right signature; memory within limits; no start function that reaches the host.
 * Each refusal names the offending import, export or limit.
 */
export function verifyBundle(bytes: Uint8Array, capabilities: ReadonlyMap<string, Capability>, limits: EngineLimits = DEFAULT_ENGINE_LIMITS): Bundle {
  if (!WebAssembly.validate(bytes as BufferSource)) {
    let reason = 'invalid module';
    try {
      new WebAssembly.Module(bytes as BufferSource);
    } catch (e) {
      reason = (e as Error).message.replace(/^WebAssembly\.Module\(\): /, '');
    }
    refuse('E_MALFORMED', `malformed Wasm module: ${reason}`);
  }
  // A TypeScript/JavaScript bundle (engine/jsguest): code for the shared QuickJS engine, no Wasm code.
  if (jsCodeOf(bytes)) return verifyJsBundle(bytes, capabilities, limits);
  const bundle = readBundle(bytes);
  const { manifest: mf, module: m } = bundle;

  // Imports ⊆ declared capabilities.
  const declared = new Set(['core', ...mf.capabilities]);
  checkCapabilities(mf, capabilities);
  const byModule = new Map([...capabilities.values()].map((c) => [c.module, c]));
  for (const imp of m.imports) {
    const what = `import ${imp.module}.${imp.name}`;
    if (imp.kind !== 'function') refuse('E_IMPORT', `${what}: only function imports are allowed (a bundle defines its own memory)`);
    const cap = byModule.get(imp.module);
    if (!cap) refuse('E_IMPORT', `${what}: no such capability module`);
    if (!declared.has(cap!.name)) refuse('E_IMPORT', `${what}: capability '${cap!.name}' is not declared in the manifest`);
    const want = cap!.functions[imp.name];
    if (!want) refuse('E_IMPORT', `${what}: '${imp.module}' has no function '${imp.name}'`);
    const got = sigString(m.types[imp.typeIndex!]!);
    if (got !== want) refuse('E_IMPORT', `${what}: signature ${got}, expected ${want}`);
  }

  // Exports: memory, the ABI, and every declared handler/function.
  const exports = new Map(m.exports.map((e) => [e.name, e]));
  for (const reserved of [SET_FUEL_EXPORT, FUEL_LEFT_EXPORT, GROW_FAILED_EXPORT]) if (exports.has(reserved)) refuse('E_EXPORT', `export '${reserved}' is reserved for the engine`);
  if (exports.get('memory')?.kind !== 'memory') refuse('E_EXPORT', `missing export 'memory'`);
  const entries: Array<[string, string]> = [
    ...Object.entries(ABI_EXPORTS),
    ...mf.handlers.map((h): [string, string] => [h.export, ENTRY_SIG]),
    ...mf.functions.map((f): [string, string] => [f.export, ENTRY_SIG]),
  ];
  for (const [name, want] of entries) {
    const e = exports.get(name);
    if (!e) refuse('E_EXPORT', `missing export '${name}' (expected a function ${want})`);
    if (e!.kind !== 'function') refuse('E_EXPORT', `export '${name}' is a ${e!.kind}, expected a function ${want}`);
    const t = funcType(m, e!.index);
    const got = t ? sigString(t) : '?';
    if (got !== want) refuse('E_EXPORT', `export '${name}' has signature ${got}, expected ${want}`);
  }

  // Memory within limits.
  if (m.memories.length !== 1) refuse('E_MEMORY', `bundle must define exactly one memory (has ${m.memories.length})`);
  const mem = m.memories[0]!;
  const cap = Math.min(mf.limits.memoryPages, limits.maxMemoryPages);
  if (mf.limits.memoryPages > limits.maxMemoryPages) refuse('E_LIMIT', `limits.memoryPages ${mf.limits.memoryPages} is over the engine limit of ${limits.maxMemoryPages} pages`);
  if (mem.min > cap) refuse('E_LIMIT', `memory minimum ${mem.min} pages is over the limit of ${cap} pages`);
  if (mem.max !== undefined && mem.max > cap) refuse('E_LIMIT', `memory maximum ${mem.max} pages is over the limit of ${cap} pages`);

  if (m.start !== undefined) checkStart(m, m.start);
  return bundle;
}

/** A start function runs at instantiation, before any message or limit applies: it may not reach host imports. */
function checkStart(m: WasmModule, start: number): void {
  const seen = new Set<number>();
  const todo = [start];
  const codeSec = m.sections.find((s) => s.id === 10);
  const bodies: Array<[number, number]> = [];
  if (codeSec) {
    const r = new Reader(m.bytes, codeSec.bodyStart, codeSec.end);
    for (let n = r.u32(); n > 0; n--) {
      const size = r.u32();
      bodies.push([r.pos, r.pos + size]);
      r.pos += size;
    }
  }
  const importNames = m.imports.filter((i) => i.kind === 'function');
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    if (f < m.importedFuncs) {
      const imp = importNames[f]!;
      if (imp.module === 'roam:core') continue; // abort only traps
      refuse('E_START', `start function reaches host import ${imp.module}.${imp.name}`);
    }
    const range = bodies[f - m.importedFuncs];
    if (!range) continue;
    const r = new Reader(m.bytes, range[0], range[1]);
    for (let n = r.u32(); n > 0; n--) { r.u32(); r.byte(); }
    while (r.pos < range[1]) {
      const op = r.byte();
      if (op === 0x10 || op === 0x12) {
        const callee = r.u32();
        todo.push(callee);
        continue;
      }
      if (op === 0x11 || op === 0x13) refuse('E_START', 'start function makes an indirect call');
      skipImmediates(op, r);
    }
  }
}

/**
 * Declared capabilities exist here; each manifest section is parsed by the capability it is named after
 * (replaced by the normalized form) and each declared capability validates the manifest. Shared by core
 * bundles and components.
 */
export function checkCapabilities(m: Manifest, capabilities: ReadonlyMap<string, Capability>): void {
  for (const c of m.capabilities) if (!capabilities.has(c)) refuse('E_CAPABILITY', `capability '${c}' is not offered by this engine`);
  parseSections(m, capabilities);
  for (const c of m.capabilities) capabilities.get(c)!.validate?.(m);
}

/** Each manifest section, parsed by the capability it is named after (a component's too: its WASI
 *  capabilities are checked by admission's import policy instead). */
export function parseSections(m: Manifest, capabilities: ReadonlyMap<string, Capability>): void {
  for (const [k, raw] of Object.entries(m.sections ?? {})) {
    const cap = capabilities.get(k);
    if (!cap) refuse('E_CAPABILITY', `manifest section '${k}' names capability '${k}', which this engine does not offer`);
    if (!cap!.section) refuse('E_MANIFEST', `manifest: section '${k}': capability '${k}' takes no configuration`);
    m.sections![k] = cap!.section!(raw);
  }
}
