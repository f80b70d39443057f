import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Reader } from '../bundle/leb.ts';
import { parseModule, type WasmModule } from '../bundle/wasm-module.ts';
import { meter } from '../meter/meter.ts';
import { skipImmediates } from '../meter/instructions.ts';

/** How a component's calls are bounded in time: fuel in every core module that can loop, or only the watchdog. */
export type TimeLimit =
  | { mode: 'fuel'; fuel: number; metered: string[] }
  | { mode: 'watchdog'; reason: string };

/** Bumped when the meter's output or what it accepts changes, so cached outcomes are redone (2: imported memories). */
const METER_REVISION = 2;

/** True when some function body contains a `loop`: only such code can run unbounded (recursion ends in a stack overflow). */
function hasLoop(m: WasmModule): boolean {
  const s = m.sections.find((x) => x.id === 10);
  if (!s) return false;
  const r = new Reader(m.bytes, s.bodyStart, s.end);
  for (let n = r.u32(); n > 0; n--) {
    const end = r.u32() + r.pos;
    for (let d = r.u32(); d > 0; d--) { r.u32(); r.byte(); }
    while (r.pos < end) {
      const op = r.byte();
      if (op === 0x03) return true;
      skipImmediates(op, r);
    }
  }
  return false;
}

/**
 * Runs roam's fuel pass (engine/meter) over each of a component's core modules that can loop, so an
 * infinite loop ends with a fuel error instead of only the watchdog. jco's glue never calls the fuel
 * exports; the component worker does, around each call, on the instances it captures. All or nothing:
 * if one looping module cannot be metered (the meter expects one defined memory, and gives up on
 * StarlingMonkey's 12 MB engine), the component keeps its original modules and the watchdog alone.
 * The outcome is cached beside the transpiled files (keyed by memory cap and fuel).
 */
export function meterComponent(dir: string, modules: Record<string, Uint8Array>, pages: number, fuel: number): { modules: Record<string, Uint8Array>; limit: TimeLimit } {
  const tag = `fuel-${METER_REVISION}-${pages}-${fuel}`;
  const key = join(dir, `${tag}.json`);
  if (existsSync(key)) {
    const limit = JSON.parse(readFileSync(key, 'utf8')) as TimeLimit;
    if (limit.mode === 'watchdog') return { modules, limit };
    return { modules: { ...modules, ...Object.fromEntries(limit.metered.map((f) => [f, readFileSync(join(dir, `${f}.${tag}`))])) }, limit };
  }
  const out: Record<string, Uint8Array> = { ...modules };
  const metered: string[] = [];
  let limit: TimeLimit | null = null;
  // Smallest first: a small module that cannot be metered (e.g. the WASI adapter, which imports its
  // memory) decides the outcome before the meter spends seconds on a 12 MB engine.
  for (const [f, bytes] of Object.entries(modules).sort((a, b) => a[1].length - b[1].length)) {
    try {
      const m = parseModule(bytes);
      if (!hasLoop(m)) continue;
      out[f] = meter(m, pages, fuel);
      metered.push(f);
    } catch (e) {
      limit = { mode: 'watchdog', reason: `core module ${f} could not be metered (${(e as Error).message})` };
      break;
    }
  }
  limit ??= { mode: 'fuel', fuel, metered };
  // Each file through a rename, the outcome last: a concurrent deploy never reads a half-written file.
  const put = (file: string, data: string | Uint8Array) => {
    const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  };
  if (limit.mode === 'fuel') for (const f of metered) put(join(dir, `${f}.${tag}`), out[f]!);
  put(key, JSON.stringify(limit));
  return limit.mode === 'fuel' ? { modules: out, limit } : { modules, limit };
}
