import { createHash } from 'node:crypto';
import { RoamError } from '../errors.ts';
import { concat, nameBytes, section } from './leb.ts';
import { type Manifest, validateManifest } from './manifest.ts';
import { customSections, parseModule, type WasmModule } from './wasm-module.ts';

/** Custom section that carries the manifest (UTF-8 JSON). */
export const MANIFEST_SECTION = 'roam.manifest';

/** A parsed bundle: the module's structure, its manifest and its identity. */
export interface Bundle {
  bytes: Uint8Array;
  module: WasmModule;
  manifest: Manifest;
  /** sha256 of the whole .wasm file, hex. */
  hash: string;
}

export const contentHash = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Returns the module with the manifest embedded (any previous manifest section is dropped). */
export function embedManifest(wasm: Uint8Array, manifest: Manifest): Uint8Array {
  const m = parseModule(wasm);
  const kept = [wasm.subarray(0, 8), ...m.sections.filter((s) => !(s.id === 0 && s.name === MANIFEST_SECTION)).map((s) => wasm.subarray(s.start, s.end))];
  const json = new TextEncoder().encode(JSON.stringify(manifest));
  const body = concat([Uint8Array.from(nameBytes(MANIFEST_SECTION)), json]);
  return concat([...kept, section(0, body)]);
}

/** Parses a bundle. Refuses malformed bytes, a module without a manifest, or an invalid manifest. */
export function readBundle(bytes: Uint8Array): Bundle {
  const module = parseModule(bytes);
  const manifest = manifestIn(customSections(module, MANIFEST_SECTION), 'bundle', 'build it with roam build');
  return { bytes, module, manifest, hash: contentHash(bytes) };
}

/** The one manifest section of a module or component, validated; `what` and `hint` shape the refusal. */
export function manifestIn(sections: Uint8Array[], what: 'bundle' | 'component', hint: string): Manifest {
  if (sections.length === 0) throw new RoamError('E_NO_MANIFEST', `not a roam bundle: ${what === 'bundle' ? 'no' : 'the component has no'} '${MANIFEST_SECTION}' custom section (${hint})`);
  if (sections.length > 1) throw new RoamError('E_MANIFEST', `${what} has ${sections.length} '${MANIFEST_SECTION}' sections`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(sections[0]));
  } catch (e) {
    throw new RoamError('E_MANIFEST', `manifest section is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  return validateManifest(raw);
}
