import { concat, i32leb, Reader, section, u32leb } from '../bundle/leb.ts';
import type { WasmModule } from '../bundle/wasm-module.ts';
import { OPENS_FRAME, skipImmediates } from './instructions.ts';

/** Export names the instrumented module gains. */
export const FUEL_EXPORT = 'roam_fuel';
export const GROW_FAILED_EXPORT = 'roam_grow_failed';

/** Canonical order of non-custom sections (data count sits before code). */
const RANK: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12, 13: 6.5 };

/**
 * Rewrites a module for bounded execution, like eBPF's verifier-enforced bounds but by metering:
 * - an exported i32 global `roam_fuel` is decremented at every function entry and loop header by the
 *   static instruction count of that function/loop body (charge per block, not per instruction),
 *   and the guest traps (unreachable) when it goes negative; the host reads it back to tell
 *   "fuel exhausted" from other traps and to report fuel used;
 * - every `memory.grow` goes through a helper that sets `roam_grow_failed` when growth is refused,
 *   so the trap that follows (AssemblyScript aborts on a failed allocation) is reported as the
 *   memory limit;
 * - a memory without a maximum gets `memoryPages` as its maximum;
 * - the start function (instantiation) runs on `startFuel`.
 * Only appends globals, a type and a function, so no existing index moves.
 */
export function meter(m: WasmModule, memoryPages: number, startFuel: number): Uint8Array {
  const bytes = m.bytes;
  const fuelGlobal = m.importedGlobals + m.definedGlobals;
  const growGlobal = fuelGlobal + 1;
  const hasMemory = m.memories.length > 0;
  const growType = m.types.length;
  const growFunc = m.importedFuncs + m.funcTypes.length;

  const body = (id: number): { count: number; rest: Uint8Array } => {
    const s = m.sections.find((x) => x.id === id);
    if (!s) return { count: 0, rest: new Uint8Array(0) };
    const r = new Reader(bytes, s.bodyStart, s.end);
    const count = r.u32();
    return { count, rest: bytes.subarray(r.pos, s.end) };
  };
  const vec = (id: number, extra: number[][], rest?: Uint8Array): Uint8Array => {
    const b = body(id);
    return section(id, [...u32leb(b.count + extra.length), ...(rest ?? b.rest), ...extra.flat()]);
  };

  const mutI32 = (init: number) => [0x7f, 0x01, 0x41, ...i32leb(init), 0x0b];
  const exportGlobal = (name: string, idx: number) => [...u32leb(name.length), ...Buffer.from(name), 0x03, ...u32leb(idx)];
  const replaced = new Map<number, Uint8Array>();
  replaced.set(6, vec(6, [mutI32(startFuel), mutI32(0)]));
  replaced.set(7, vec(7, [exportGlobal(FUEL_EXPORT, fuelGlobal), exportGlobal(GROW_FAILED_EXPORT, growGlobal)]));
  const code = instrumentCode(m, fuelGlobal, hasMemory ? growFunc : -1);
  if (hasMemory) {
    replaced.set(1, vec(1, [[0x60, 0x01, 0x7f, 0x01, 0x7f]]));
    replaced.set(3, vec(3, [u32leb(growType)]));
    const helper = [0x01, 0x01, 0x7f, 0x20, 0x00, 0x40, 0x00, 0x22, 0x01, 0x41, 0x7f, 0x46, 0x04, 0x40, 0x41, 0x01, 0x24, ...u32leb(growGlobal), 0x0b, 0x20, 0x01, 0x0b];
    replaced.set(10, section(10, [...u32leb(code.count + 1), ...code.bodies, ...u32leb(helper.length), ...helper]));
    const mems = m.memories.map((l) => {
      const max = l.max ?? memoryPages;
      return [(l.shared ? 2 : 0) | 1, ...u32leb(l.min), ...u32leb(max)];
    });
    replaced.set(5, section(5, [...u32leb(mems.length), ...mems.flat()]));
  } else if (code.count > 0) {
    replaced.set(10, section(10, [...u32leb(code.count), ...code.bodies]));
  }

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
function check(out: number[], g: number[]): number {
  out.push(0x23, ...g, 0x41);
  const at = out.length;
  out.push(0x80, 0x80, 0x80, 0x80, 0x00, 0x6b, 0x24, ...g, 0x23, ...g, 0x41, 0x00, 0x48, 0x04, 0x40, 0x00, 0x0b);
  return at;
}

function patch(out: number[], at: number, cost: number): void {
  const v = Math.max(1, Math.min(cost, 2 ** 27));
  out[at] = (v & 0x7f) | 0x80;
  out[at + 1] = ((v >> 7) & 0x7f) | 0x80;
  out[at + 2] = ((v >> 14) & 0x7f) | 0x80;
  out[at + 3] = ((v >> 21) & 0x7f) | 0x80;
  out[at + 4] = (v >> 28) & 0x7f;
}

function instrumentCode(m: WasmModule, fuelGlobal: number, growFunc: number): { count: number; bodies: number[] } {
  const s = m.sections.find((x) => x.id === 10);
  if (!s) return { count: 0, bodies: [] };
  const r = new Reader(m.bytes, s.bodyStart, s.end);
  const count = r.u32();
  const g = u32leb(fuelGlobal);
  const callGrow = growFunc >= 0 ? [0x10, ...u32leb(growFunc)] : [];
  const bodies: number[] = [];
  for (let f = 0; f < count; f++) {
    const size = r.u32();
    const end = r.pos + size;
    const out: number[] = [];
    const declStart = r.pos;
    for (let n = r.u32(); n > 0; n--) { r.u32(); r.byte(); }
    for (let i = declStart; i < r.pos; i++) out.push(m.bytes[i]!);
    // Frames: `cost` is the patch position of a metered frame (function or loop), -1 for plain blocks.
    const frames: Array<{ at: number; n: number } | null> = [{ at: check(out, g), n: 0 }];
    const metered: Array<{ at: number; n: number }> = [frames[0]!];
    while (r.pos < end) {
      const opStart = r.pos;
      const op = r.byte();
      skipImmediates(op, r);
      metered[metered.length - 1]!.n++;
      if (op === 0x40 && callGrow.length > 0) out.push(...callGrow);
      else for (let i = opStart; i < r.pos; i++) out.push(m.bytes[i]!);
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
          patch(out, frame.at, frame.n);
          metered.pop();
        }
      }
    }
    if (frames.length !== 0 || r.pos !== end) throw new RangeError(`function ${f} body is malformed`);
    bodies.push(...u32leb(out.length), ...out);
  }
  return { count, bodies };
}
