import { RoamError } from '../errors.ts';
import { concat, nameBytes, Reader, section } from './leb.ts';
import { MANIFEST_SECTION } from './bundle.ts';
import { type RawSection, sections } from './sections.ts';
import type { Manifest } from './manifest.ts';

/**
 * A top-level view of a WebAssembly component binary: enough to tell it from a core module,
 * list what it imports and exports, and carry roam's manifest in a component-level custom section.
 * Nested modules and types are left opaque; jco validates the whole binary at transpile time.
 */
export type ComponentSection = RawSection;
export interface ComponentInfo {
  sections: ComponentSection[];
  /** Top-level import names, e.g. `wasi:cli/stdout@0.2.3`, `roam:function/log@0.1.0`. */
  imports: string[];
  /** Top-level export names, e.g. `roam:function/handler@0.1.0`. */
  exports: string[];
  customSections: Map<string, Uint8Array[]>;
}

const SECTION_CUSTOM = 0;
const SECTION_IMPORT = 10;
const SECTION_EXPORT = 11;

/** `\0asm` + version 0x0d + layer 1: the component preamble (a core module has version 1, layer 0). */
export function isComponent(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d && bytes[6] === 1 && bytes[7] === 0;
}

function externName(r: Reader): string {
  const tag = r.byte();
  if (tag !== 0x00 && tag !== 0x01) throw new RangeError(`unknown extern name form 0x${tag.toString(16)}`);
  return r.name();
}

function skipExternDesc(r: Reader): void {
  const kind = r.byte();
  switch (kind) {
    case 0x00: // core module: 0x11 typeidx
      r.byte();
      r.u32();
      return;
    case 0x01: case 0x04: case 0x05: // func, component, instance: typeidx
      r.u32();
      return;
    case 0x02: // value: 0x00 valueidx | 0x01 valtype (primitive byte or s33 typeidx)
      if (r.byte() === 0x00) r.u32();
      else r.skipLeb();
      return;
    case 0x03: // type: 0x00 eq typeidx | 0x01 sub resource
      if (r.byte() === 0x00) r.u32();
      return;
    default:
      throw new RangeError(`unknown externdesc 0x${kind.toString(16)}`);
  }
}

function readImports(r: Reader, out: string[]): void {
  for (let n = r.u32(); n > 0; n--) {
    out.push(externName(r));
    skipExternDesc(r);
  }
}

function readExports(r: Reader, out: string[]): void {
  for (let n = r.u32(); n > 0; n--) {
    out.push(externName(r));
    if (r.byte() === 0x00) r.byte(); // sort: core sorts carry a second byte
    r.u32();
    if (r.byte() === 0x01) skipExternDesc(r);
  }
}

/** Parses a component's top level. Throws E_MALFORMED with the reason. */
export function parseComponent(bytes: Uint8Array): ComponentInfo {
  if (!isComponent(bytes)) throw new RoamError('E_MALFORMED', 'malformed component: missing the component preamble (\\0asm, version 0x0d, layer 1)');
  const info: ComponentInfo = { sections: [], imports: [], exports: [], customSections: new Map() };
  try {
    for (const s of sections(bytes)) {
      const { id, end } = s;
      const body = new Reader(bytes, s.bodyStart, end);
      if (id === SECTION_CUSTOM) {
        body.name();
        const list = info.customSections.get(s.name!) ?? [];
        list.push(bytes.subarray(body.pos, end));
        info.customSections.set(s.name!, list);
      } else if (id === SECTION_IMPORT) readImports(body, info.imports);
      else if (id === SECTION_EXPORT) readExports(body, info.exports);
      else if (id > 12) throw new RangeError(`unknown component section id ${id}`);
      if ((id === SECTION_IMPORT || id === SECTION_EXPORT) && body.pos !== end) throw new RangeError(`section ${id} has ${end - body.pos} trailing bytes`);
      info.sections.push(s);
    }
  } catch (e) {
    if (e instanceof RoamError) throw e;
    throw new RoamError('E_MALFORMED', `malformed component: ${(e as Error).message}`);
  }
  return info;
}

/** Returns the component with the manifest in a top-level `roam.manifest` custom section (replacing any). */
export function embedComponentManifest(component: Uint8Array, manifest: Manifest): Uint8Array {
  const info = parseComponent(component);
  const kept = [component.subarray(0, 8), ...info.sections.filter((s) => !(s.id === SECTION_CUSTOM && s.name === MANIFEST_SECTION)).map((s) => component.subarray(s.start, s.end))];
  const json = new TextEncoder().encode(JSON.stringify(manifest));
  return concat([...kept, section(SECTION_CUSTOM, concat([Uint8Array.from(nameBytes(MANIFEST_SECTION)), json]))]);
}
