import { ByteWriter } from '../bundle/byte-writer.ts';
import { concat, i32leb, Reader, section, u32leb } from '../bundle/leb.ts';
import type { WasmModule } from '../bundle/wasm-module.ts';
import { OPENS_FRAME, skipImmediates } from './instructions.ts';

/** Functions the instrumented module exports for the host (calls are cheaper than WebAssembly.Global access). */
export const SET_FUEL_EXPORT = 'roam_set_fuel'; // (fuel: i32) -> (): sets the budget and clears the grow flag
export const FUEL_LEFT_EXPORT = 'roam_fuel_left'; // () -> i32: negative after "fuel exhausted"
export const GROW_FAILED_EXPORT = 'roam_grow_failed'; // () -> i32: 1 if a memory.grow was refused since set_fuel

/** Canonical order of non-custom sections (data count sits before code). */
const RANK: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12, 13: 6.5 };

/**
 * Rewrites a verified module for bounded execution, like eBPF's bounds but enforced by metering:
 * - an i32 fuel global is decremented at every function entry and loop header by the static
 *   instruction count of that function/loop body (charge per block, not per instruction), and the
 *   guest traps (unreachable) when it goes negative; the host reads it back to tell "fuel exhausted"
 *   from other traps and to report fuel used;
 * - every `memory.grow` goes through a helper that raises a flag when growth is refused, so the trap
 *   that follows (AssemblyScript aborts on a failed allocation) is reported as the memory limit;
 * - a memory without a maximum gets `memoryPages` as its maximum;
 * - the start function (instantiation) runs on `startFuel`.
 * Only appends globals, types and functions, so no existing index moves.
 */
export function meter(m: WasmModule, memoryPages: number, startFuel: number): Uint8Array {
  // A TypeScript bundle (engine/jsguest) has no Wasm code: its fuel is the QuickJS engine's interrupt count.
  if (m.sections.every((s) => s.id === 0)) return m.bytes;
  // One memory, defined or imported (a component's WASI adapter imports the main module's): memory.grow's index 0.
  const importedMemories = m.imports.filter((i) => i.kind === 'memory').length;
  if (m.memories.length + importedMemories !== 1) throw new RangeError('meter expects a verified module with one memory');
  const bytes = m.bytes;
  const fuelGlobal = m.importedGlobals + m.definedGlobals;
  const growGlobal = fuelGlobal + 1;
  const t = m.types.length; // appended types: t = (i32)->i32, t+1 = (i32)->(), t+2 = ()->i32
  const growFunc = m.importedFuncs + m.funcTypes.length;

  const body = (id: number): { count: number; rest: Uint8Array } => {
    const s = m.sections.find((x) => x.id === id);
    if (!s) return { count: 0, rest: new Uint8Array(0) };
    const r = new Reader(bytes, s.bodyStart, s.end);
    const count = r.u32();
    return { count, rest: bytes.subarray(r.pos, s.end) };
  };
  const vec = (id: number, extra: number[][]): Uint8Array => {
    const b = body(id);
    return section(id, [...u32leb(b.count + extra.length), ...b.rest, ...extra.flat()]);
  };

  const g = u32leb(fuelGlobal);
  const gg = u32leb(growGlobal);
  const mutI32 = (init: number) => [0x7f, 0x01, 0x41, ...i32leb(init), 0x0b];
  const exportFunc = (name: string, idx: number) => [...u32leb(name.length), ...Buffer.from(name), 0x00, ...u32leb(idx)];
  const fn = (locals: number[], code: number[]) => [...u32leb(locals.length + code.length + 1), ...locals, ...code, 0x0b];
  const helpers = [
    // grow(delta) -> old pages | -1, raising the flag on -1
    fn([0x01, 0x01, 0x7f], [0x20, 0x00, 0x40, 0x00, 0x22, 0x01, 0x41, 0x7f, 0x46, 0x04, 0x40, 0x41, 0x01, 0x24, ...gg, 0x0b, 0x20, 0x01]),
    fn([0x00], [0x20, 0x00, 0x24, ...g, 0x41, 0x00, 0x24, ...gg]), // set_fuel(n)
    fn([0x00], [0x23, ...g]), // fuel_left()
    fn([0x00], [0x23, ...gg]), // grow_failed()
  ];
  const replaced = new Map<number, Uint8Array>();
  replaced.set(1, vec(1, [[0x60, 0x01, 0x7f, 0x01, 0x7f], [0x60, 0x01, 0x7f, 0x00], [0x60, 0x00, 0x01, 0x7f]]));
  replaced.set(3, vec(3, [u32leb(t), u32leb(t + 1), u32leb(t + 2), u32leb(t + 2)]));
  replaced.set(6, vec(6, [mutI32(startFuel), mutI32(0)]));
  replaced.set(7, vec(7, [exportFunc(SET_FUEL_EXPORT, growFunc + 1), exportFunc(FUEL_LEFT_EXPORT, growFunc + 2), exportFunc(GROW_FAILED_EXPORT, growFunc + 3)]));
  const code = instrumentCode(m, fuelGlobal, growFunc);
  replaced.set(10, section(10, concat([Uint8Array.from(u32leb(code.count + helpers.length)), code.bodies, Uint8Array.from(helpers.flat())])));
  const mems = m.memories.map((l) => [(l.shared ? 2 : 0) | 1, ...u32leb(l.min), ...u32leb(l.max ?? memoryPages)]);
  replaced.set(5, section(5, [...u32leb(mems.length), ...mems.flat()]));

  const out: Uint8Array[] = [bytes.subarray(0, 8)];
  const pending = [...replaced.keys()].filter((id) => !m.sections.some((s) => s.id === id)).sort((a, b) => RANK[a]! - RANK[b]!);
  const flushBefore = (rank: number) => {
    while (pending.length > 0 && RANK[pending[0]!]! < rank) out.push(replaced.get(pending.shift()!)!);
  };
  for (const s of m.sections) {
    if (s.id !== 0) flushBefore(RANK[s.id]!);
    out.push(replaced.get(s.id) ?? bytes.subarray(s.start, s.end));
  }
  flushBefore(Infinity);
  return concat(out);
}

/** Fuel check: fuel -= cost; if (fuel < 0) unreachable. Cost is a 5-byte padded LEB, patched later. */
function check(out: ByteWriter, g: number[]): number {
  out.byte(0x23); out.bytes(g); out.byte(0x41);
  const at = out.len;
  out.bytes([0x80, 0x80, 0x80, 0x80, 0x00, 0x6b, 0x24]); out.bytes(g);
  out.byte(0x23); out.bytes(g);
  out.bytes([0x41, 0x00, 0x48, 0x04, 0x40, 0x00, 0x0b]);
  return at;
}

function patch(out: Uint8Array, at: number, cost: number): void {
  const v = Math.max(1, Math.min(cost, 2 ** 27));
  out[at] = (v & 0x7f) | 0x80;
  out[at + 1] = ((v >> 7) & 0x7f) | 0x80;
  out[at + 2] = ((v >> 14) & 0x7f) | 0x80;
  out[at + 3] = ((v >> 21) & 0x7f) | 0x80;
  out[at + 4] = (v >> 28) & 0x7f;
}

function instrumentCode(m: WasmModule, fuelGlobal: number, growFunc: number): { count: number; bodies: Uint8Array } {
  const s = m.sections.find((x) => x.id === 10);
  if (!s) return { count: 0, bodies: new Uint8Array(0) };
  const r = new Reader(m.bytes, s.bodyStart, s.end);
  const count = r.u32();
  const g = u32leb(fuelGlobal);
  const callGrow = [0x10, ...u32leb(growFunc)];
  const bodies = new ByteWriter(((s.end - s.bodyStart) * 5) >> 2);
  const out = new ByteWriter(); // one function body, reused
  for (let f = 0; f < count; f++) {
    const size = r.u32();
    const end = r.pos + size;
    out.len = 0;
    const declStart = r.pos;
    for (let n = r.u32(); n > 0; n--) { r.u32(); r.byte(); }
    out.copy(m.bytes, declStart, r.pos);
    // Frames: `at` is the patch position of a metered frame (function or loop), null for plain blocks.
    const entryCheck = out.len;
    const frames: Array<{ at: number; n: number } | null> = [{ at: check(out, g), n: 0 }];
    const entryCheckLen = out.len - entryCheck;
    const metered: Array<{ at: number; n: number }> = [frames[0]!];
    let leaf = true; // no loop and no call: straight-line code, bounded by its size
    while (r.pos < end) {
      const opStart = r.pos;
      const op = r.byte();
      skipImmediates(op, r);
      metered[metered.length - 1]!.n++;
      if (op === 0x40) out.bytes(callGrow);
      else out.copy(m.bytes, opStart, r.pos);
      if (op === 0x03 || (op >= 0x10 && op <= 0x13)) leaf = false;
      if (op === 0x03) {
        const frame = { at: check(out, g), n: 0 };
        frames.push(frame);
        metered.push(frame);
      } else if (OPENS_FRAME.has(op)) {
        frames.push(null);
      } else if (op === 0x0b || op === 0x18) {
        const frame = frames.pop();
        if (frame === undefined) throw new RangeError(`unbalanced end in function ${f}`);
        if (frame) {
          patch(out.buf, frame.at, frame.n);
          metered.pop();
        }
      }
    }
    if (frames.length !== 0 || r.pos !== end) throw new RangeError(`function ${f} body is malformed`);
    // A leaf can neither loop nor recurse: skip its entry check (its few instructions go uncharged).
    if (leaf) out.cut(entryCheck, entryCheckLen);
    bodies.bytes(u32leb(out.len));
    bodies.bytes(out.view());
  }
  return { count, bodies: bodies.view() };
}
