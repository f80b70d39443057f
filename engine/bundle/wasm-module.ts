import { Reader } from './leb.ts';
import { RoamError } from '../errors.ts';
import { type RawSection, sections } from './sections.ts';
export type { RawSection } from './sections.ts';

/** A structural view of a Wasm binary: enough to verify, instrument and re-emit it. */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';
export interface FuncType {
  params: ValType[];
  results: ValType[];
}
export interface MemLimits {
  min: number;
  max?: number;
  shared: boolean;
}
export type ExternKind = 'function' | 'table' | 'memory' | 'global' | 'tag';
export interface Import {
  module: string;
  name: string;
  kind: ExternKind;
  /** Function imports: index into `types`. */
  typeIndex?: number;
  memory?: MemLimits;
}
export interface Export {
  name: string;
  kind: ExternKind;
  index: number;
}
export interface WasmModule {
  bytes: Uint8Array;
  sections: RawSection[];
  types: FuncType[];
  imports: Import[];
  /** Type index of each defined (non-imported) function. */
  funcTypes: number[];
  memories: MemLimits[];
  definedGlobals: number;
  exports: Export[];
  start?: number;
  importedFuncs: number;
  importedGlobals: number;
}

const VALTYPES: Record<number, ValType> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };
const KINDS: ExternKind[] = ['function', 'table', 'memory', 'global', 'tag'];

function valtype(r: Reader): ValType {
  const b = r.byte();
  const t = VALTYPES[b];
  if (!t) throw new RangeError(`unknown value type 0x${b.toString(16)}`);
  return t;
}

export function readLimits(r: Reader): MemLimits {
  const flags = r.byte();
  if (flags > 3) throw new RangeError('memory64 is not supported');
  const min = r.u32();
  const max = flags & 1 ? r.u32() : undefined;
  return { min, ...(max !== undefined ? { max } : {}), shared: (flags & 2) !== 0 };
}

/** Skips a constant expression (global initialisers, segment offsets), through its `end`. */
export function skipConstExpr(r: Reader): void {
  for (;;) {
    const op = r.byte();
    switch (op) {
      case 0x0b:
        return;
      case 0x41: case 0x42: r.skipLeb(); break;
      case 0x43: r.bytes(4); break;
      case 0x44: r.bytes(8); break;
      case 0x23: case 0xd2: r.u32(); break;
      case 0xd0: r.byte(); break;
      case 0x6a: case 0x6b: case 0x6c: case 0x7c: case 0x7d: case 0x7e: break; // extended-const
      case 0xfd: if (r.u32() !== 12) throw new RangeError('bad constant expression'); r.bytes(16); break;
      default: throw new RangeError(`unsupported opcode 0x${op.toString(16)} in constant expression`);
    }
  }
}

/** Parses the module's structure. Throws RoamError E_MALFORMED with the reason. */
export function parseModule(bytes: Uint8Array): WasmModule {
  try {
    return parse(bytes);
  } catch (e) {
    if (e instanceof RoamError) throw e;
    throw new RoamError('E_MALFORMED', `malformed Wasm module: ${(e as Error).message}`);
  }
}

function parse(bytes: Uint8Array): WasmModule {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new RangeError('missing \\0asm magic');
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) throw new RangeError('not a core module (a component? unsupported version)');
  const m: WasmModule = { bytes, sections: [], types: [], imports: [], funcTypes: [], memories: [], definedGlobals: 0, exports: [], importedFuncs: 0, importedGlobals: 0 };
  for (const sec of sections(bytes)) {
    const { id, end } = sec;
    const s = new Reader(bytes, sec.bodyStart, end);
    switch (id) {
      case 1: for (let n = s.u32(); n > 0; n--) {
        const form = s.byte();
        if (form !== 0x60) throw new RangeError(`unsupported type form 0x${form.toString(16)}`);
        const params = Array.from({ length: s.u32() }, () => valtype(s));
        const results = Array.from({ length: s.u32() }, () => valtype(s));
        m.types.push({ params, results });
      } break;
      case 2: for (let n = s.u32(); n > 0; n--) {
        const module = s.name();
        const name = s.name();
        const kind = KINDS[s.byte()];
        if (!kind) throw new RangeError('bad import kind');
        const imp: Import = { module, name, kind };
        if (kind === 'function') { imp.typeIndex = s.u32(); m.importedFuncs++; }
        else if (kind === 'table') { s.byte(); readLimits(s); }
        else if (kind === 'memory') imp.memory = readLimits(s);
        else if (kind === 'global') { valtype(s); s.byte(); m.importedGlobals++; }
        else { s.byte(); s.u32(); }
        m.imports.push(imp);
      } break;
      case 3: for (let n = s.u32(); n > 0; n--) m.funcTypes.push(s.u32()); break;
      case 5: for (let n = s.u32(); n > 0; n--) m.memories.push(readLimits(s)); break;
      case 6: for (let n = s.u32(); n > 0; n--) { valtype(s); s.byte(); skipConstExpr(s); m.definedGlobals++; } break;
      case 7: for (let n = s.u32(); n > 0; n--) {
        const name = s.name();
        const kind = KINDS[s.byte()];
        if (!kind) throw new RangeError('bad export kind');
        m.exports.push({ name, kind, index: s.u32() });
      } break;
      case 8: m.start = s.u32(); break;
      default: if (id > 13) throw new RangeError(`unknown section id ${id}`);
    }
    if (id !== 0 && id !== 4 && id <= 8 && s.pos !== end) throw new RangeError(`section ${id} size mismatch`);
    m.sections.push(sec);
  }
  for (const t of [...m.funcTypes, ...m.imports.flatMap((i) => (i.typeIndex === undefined ? [] : [i.typeIndex]))]) {
    if (t >= m.types.length) throw new RangeError(`type index ${t} out of range`);
  }
  return m;
}

/** Signature of function `index` (imports first, then defined functions). */
export function funcType(m: WasmModule, index: number): FuncType | undefined {
  if (index < m.importedFuncs) {
    const imp = m.imports.filter((i) => i.kind === 'function')[index];
    return imp?.typeIndex === undefined ? undefined : m.types[imp.typeIndex];
  }
  const t = m.funcTypes[index - m.importedFuncs];
  return t === undefined ? undefined : m.types[t];
}

export const sigString = (t: FuncType): string => `(${t.params.join(',')})->${t.results.length === 0 ? '()' : t.results.join(',')}`;

export function customSections(m: WasmModule, name: string): Uint8Array[] {
  return m.sections.filter((s) => s.id === 0 && s.name === name).map((s) => {
    const r = new Reader(m.bytes, s.bodyStart, s.end);
    r.name();
    return m.bytes.subarray(r.pos, s.end);
  });
}
