// A tiny Wasm module assembler for verifier tests: modules too odd for a compiler to emit.
import { concat, nameBytes, section, u32leb } from '../../engine/bundle/leb.ts';

const T: Record<string, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c };
export interface Fn { type: [string[], string[]]; body: number[]; locals?: string[] }
export interface ModuleSpec {
  imports?: Array<{ module: string; name: string; type: [string[], string[]] } | { module: string; name: string; memory: [number, number?] }>;
  functions?: Fn[];
  memory?: [number, number?];
  exports?: Array<{ name: string; func?: number; memory?: true }>;
  start?: number;
}

const vec = (items: number[][]) => [...u32leb(items.length), ...items.flat()];
const limits = ([min, max]: [number, number?]) => (max === undefined ? [0, ...u32leb(min)] : [1, ...u32leb(min), ...u32leb(max)]);

export function assemble(spec: ModuleSpec): Uint8Array {
  const types: string[] = [];
  const typeIdx = ([p, r]: [string[], string[]]) => {
    const key = `${p}|${r}`;
    if (!types.includes(key)) types.push(key);
    return types.indexOf(key);
  };
  const imports = (spec.imports ?? []).map((i) => [...nameBytes(i.module), ...nameBytes(i.name), ...('memory' in i ? [2, ...limits(i.memory)] : [0, ...u32leb(typeIdx(i.type))])]);
  const funcs = (spec.functions ?? []).map((f) => u32leb(typeIdx(f.type)));
  const code = (spec.functions ?? []).map((f) => {
    const body = [...vec((f.locals ?? []).map((l) => [1, T[l]!])), ...f.body, 0x0b];
    return [...u32leb(body.length), ...body];
  });
  const typeSec = types.map((k) => {
    const [p, r] = k.split('|').map((s) => (s ? s.split(',') : []));
    return [0x60, ...vec(p!.map((t) => [T[t]!])), ...vec(r!.map((t) => [T[t]!]))];
  });
  const exports = (spec.exports ?? []).map((e) => [...nameBytes(e.name), ...(e.memory ? [2, 0] : [0, ...u32leb(e.func!)])]);
  const parts = [Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), section(1, vec(typeSec))];
  if (imports.length) parts.push(section(2, vec(imports)));
  parts.push(section(3, vec(funcs)));
  if (spec.memory) parts.push(section(5, vec([limits(spec.memory)])));
  parts.push(section(7, vec(exports)));
  if (spec.start !== undefined) parts.push(section(8, u32leb(spec.start)));
  parts.push(section(10, vec(code)));
  return concat(parts);
}

/** The smallest module satisfying the bundle ABI, with one handler `h` = function index `base`. */
export function abiModule(extra: Omit<Partial<ModuleSpec>, 'memory'> & { memory?: [number, number?] | null } = {}): Uint8Array {
  const nImports = extra.imports?.filter((i) => 'type' in i).length ?? 0;
  const memory = extra.memory === null ? {} : { memory: extra.memory ?? ([1] as [number]) };
  return assemble({
    ...memory,
    functions: [
      { type: [['i32'], ['i32']], body: [0x41, 0] }, // roam_in
      { type: [[], ['i32']], body: [0x41, 0] }, // roam_out
      { type: [['i32'], ['i32']], body: [0x20, 0] }, // h: returns len (echo)
      ...(extra.functions ?? []),
    ],
    exports: [
      { name: 'memory', memory: true },
      { name: 'roam_in', func: nImports },
      { name: 'roam_out', func: nImports + 1 },
      { name: 'h', func: nImports + 2 },
      ...(extra.exports ?? []),
    ],
    ...(extra.imports ? { imports: extra.imports } : {}),
    ...(extra.start !== undefined ? { start: extra.start } : {}),
  });
}
