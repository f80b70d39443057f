import { RoamError } from '../errors.ts';
import { readBundle, type Bundle } from '../bundle/bundle.ts';
import type { Capability } from '../capabilities/capability.ts';
import { checkCapabilities, type EngineLimits } from './verify.ts';
import { ENGINE_HASH, ENGINE_NAME, jsCodeOf } from '../bundle/js-section.ts';

/** Capabilities a JS guest may declare: those the QuickJS host layer (jsguest/host-calls.ts) offers. */
export const JS_CAPABILITIES = new Set(['core', 'log', 'clock', 'regions', 'body']);
/** Largest code a JS bundle may carry (the build refuses past 64 KiB of bundle; this is the engine's bound). */
export const MAX_JS_CODE = 1 << 20;
const JS_IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const refuse = (code: string, msg: string): never => {
  throw new RoamError(code, msg);
};

/**
 * Admission of a TypeScript/JavaScript bundle: the manifest as for any bundle, a module with no code of
 * its own (nothing but custom sections), the engine it names known here, declared capabilities offered
 * here and to JS guests, entries that are JS identifiers, memory within the engine limit.
 */
export function verifyJsBundle(bytes: Uint8Array, capabilities: ReadonlyMap<string, Capability>, limits: EngineLimits): Bundle {
  const bundle = readBundle(bytes);
  const js = jsCodeOf(bytes)!;
  const { manifest: mf, module: m } = bundle;
  const code = m.sections.find((s) => s.id !== 0);
  if (code) refuse('E_MALFORMED', `a JS bundle carries no Wasm code of its own (found section ${code.id})`);
  if (js.engine !== ENGINE_HASH) refuse('E_ENGINE', `bundle needs JS engine ${js.engine.slice(0, 12)}…, this server has ${ENGINE_HASH.slice(0, 12)}… (${ENGINE_NAME}); rebuild it with this roam`);
  if (js.code.length > MAX_JS_CODE) refuse('E_LIMIT', `JS code of ${js.code.length} bytes is over ${MAX_JS_CODE}`);
  for (const c of mf.capabilities) if (capabilities.has(c) && !JS_CAPABILITIES.has(c)) refuse('E_CAPABILITY', `capability '${c}' is not available to TypeScript guests (they may use ${[...JS_CAPABILITIES].join(', ')})`);
  // As for any bundle: declared capabilities offered here, their manifest sections parsed and validated.
  checkCapabilities(mf, capabilities);
  for (const e of [...mf.handlers, ...mf.functions]) if (!JS_IDENT.test(e.export)) refuse('E_EXPORT', `export '${e.export}' of '${e.name}' is not a JavaScript identifier`);
  if (mf.limits.memoryPages > limits.maxMemoryPages) refuse('E_LIMIT', `limits.memoryPages ${mf.limits.memoryPages} is over the engine limit of ${limits.maxMemoryPages} pages`);
  return bundle;
}
