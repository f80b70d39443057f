/**
 * The `roam.js` custom section of a TypeScript/JavaScript bundle: which engine runs the code (by sha256,
 * never the engine itself) and the code. Layout: u32 LE header length, header (UTF-8 JSON), code (UTF-8).
 * The bundle is otherwise an ordinary roam bundle: a Wasm module with no code of its own and the
 * `roam.manifest` section; its content hash covers the code.
 */
import { RoamError } from '../errors.ts';
import { concat, nameBytes, section } from './leb.ts';
import { customSections, parseModule, type WasmModule } from './wasm-module.ts';

export const JS_SECTION = 'roam.js';

/** sha256 of the QuickJS engine Wasm this roam runs (engine/jsguest/quickjs-engine.ts): what a TS bundle references. */
export const ENGINE_HASH = '105c3bed22d457e43e3d1c3c1c6959fda62a8fe06f0fc8a985303c3a2be72232';
/** Human-readable name of that engine, shown by `roam inspect`. */
export const ENGINE_NAME = 'quickjs (quickjs-emscripten 0.32.0, wasmfile-release-sync)';

export interface JsHeader {
  /** sha256 (hex) of the engine Wasm module that runs this code. */
  engine: string;
  /** `source`: stripped, minified JavaScript (QuickJS bytecode cannot be serialised by this engine build). */
  format: 'source';
}

export interface JsCode extends JsHeader {
  code: string;
}

const MAX_HEADER = 4096;
const enc = new TextEncoder();

/** An empty Wasm module: the body a JS bundle's sections are added to. */
export const EMPTY_MODULE = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0);

/** The custom section bytes (id 0, name `roam.js`) for `js`. */
export function jsSection(js: JsCode): Uint8Array {
  const header = enc.encode(JSON.stringify({ engine: js.engine, format: js.format } satisfies JsHeader));
  const len = Uint8Array.of(header.length & 0xff, (header.length >>> 8) & 0xff, 0, 0);
  return section(0, concat([Uint8Array.from(nameBytes(JS_SECTION)), len, header, enc.encode(js.code)]));
}

/** Decodes a section body; throws E_MANIFEST naming what is wrong. */
export function decodeJsSection(body: Uint8Array): JsCode {
  const bad = (why: string): never => {
    throw new RoamError('E_MANIFEST', `invalid '${JS_SECTION}' section: ${why}`);
  };
  if (body.length < 4) bad('shorter than its header length');
  const hl = body[0]! | (body[1]! << 8) | (body[2]! << 16) | (body[3]! << 24);
  if (hl <= 0 || hl > MAX_HEADER || 4 + hl > body.length) bad(`header length ${hl} out of range`);
  let h: Record<string, unknown>;
  let code: string;
  try {
    const dec = new TextDecoder('utf-8', { fatal: true });
    h = JSON.parse(dec.decode(body.subarray(4, 4 + hl)));
    code = dec.decode(body.subarray(4 + hl));
  } catch (e) {
    return bad(`not UTF-8 JSON and code: ${(e as Error).message}`);
  }
  if (typeof h.engine !== 'string' || !/^[0-9a-f]{64}$/.test(h.engine)) bad('engine must be a sha256 hex digest');
  if (h.format !== 'source') bad(`format '${String(h.format)}' is not supported (only 'source')`);
  return { engine: h.engine as string, format: 'source', code };
}

/** The JS code of a bundle, or null when the bundle is an ordinary (compiled Wasm) one. */
export function jsCodeOf(bytes: Uint8Array): JsCode | null {
  let m: WasmModule;
  try {
    m = parseModule(bytes);
  } catch {
    return null;
  }
  const s = customSections(m, JS_SECTION);
  if (s.length === 0) return null;
  if (s.length > 1) throw new RoamError('E_MANIFEST', `bundle has ${s.length} '${JS_SECTION}' sections`);
  return decodeJsSection(s[0]!);
}

/** The JS code carried by a compiled module (places and workers receive modules, not bytes), or null. */
export function jsCodeOfModule(module: WebAssembly.Module): JsCode | null {
  const s = WebAssembly.Module.customSections(module, JS_SECTION);
  if (s.length === 0) return null;
  return decodeJsSection(new Uint8Array(s[0]!));
}
