import { RoamError } from '../errors.ts';
import type { Manifest } from '../bundle/manifest.ts';
import type { Capability, GuestContext } from '../capabilities/capability.ts';
import type { BoundRegion } from '../regions/region-store.ts';
import { FUEL_LEFT_EXPORT, GROW_FAILED_EXPORT, SET_FUEL_EXPORT } from '../meter/meter.ts';

type Entry = (len: number) => number;

/** A callable entry point (handler or function) resolved once per instance. */
export interface EntryPoint {
  /** Position among the deployment's entry points (indexes per-instance caches). */
  index: number;
  name: string;
  export: string;
  /** allowed[i] = 1 when the entry declared region i. */
  allowed: Uint8Array;
}

/** The outcome of one call. */
export interface CallResult {
  reply: Uint8Array;
  fuelUsed: number;
}

/**
 * One instantiated guest: its memory, ABI exports and the fuel global. Calls are synchronous; a trap
 * marks the instance `broken` (its memory may be mid-update) and the pool replaces it.
 */
export class GuestInstance {
  broken = false;
  private readonly exports: WebAssembly.Exports;
  private readonly roamIn: Entry;
  private readonly roamOut: () => number;
  private readonly setFuel: (fuel: number) => void;
  private readonly fuelLeft: () => number;
  private readonly growFailed: () => number;
  private readonly ctx: GuestContext;
  private readonly fns: Entry[] = [];
  private inPtr = 0;
  private inCap = 0;
  private u8: Uint8Array = new Uint8Array(0);

  constructor(module: WebAssembly.Module, manifest: Manifest, caps: Capability[], regions: BoundRegion[]) {
    const state = new Map<string, unknown>();
    const ctx: GuestContext = {
      manifest,
      memory: undefined as unknown as WebAssembly.Memory,
      regions,
      allowed: new Uint8Array(regions.length),
      state,
      bytes: (ptr, len) => {
        const mem = this.view();
        if (ptr < 0 || len < 0 || ptr + len > mem.length) throw new RoamError('E_GUEST_BOUNDS', `guest pointer ${ptr}+${len} is outside linear memory (${mem.length} bytes)`);
        return mem.subarray(ptr, ptr + len);
      },
    };
    const importObject: WebAssembly.Imports = {};
    for (const c of caps) importObject[c.module] = c.imports(ctx);
    const instance = new WebAssembly.Instance(module, importObject);
    this.exports = instance.exports;
    ctx.memory = this.exports.memory as WebAssembly.Memory;
    this.ctx = ctx;
    this.roamIn = this.exports.roam_in as Entry;
    this.roamOut = this.exports.roam_out as () => number;
    this.setFuel = this.exports[SET_FUEL_EXPORT] as (fuel: number) => void;
    this.fuelLeft = this.exports[FUEL_LEFT_EXPORT] as () => number;
    this.growFailed = this.exports[GROW_FAILED_EXPORT] as () => number;
  }

  /** A cached view of linear memory; growth detaches the old buffer (length 0), which triggers a refresh. */
  view(): Uint8Array {
    if (this.u8.length === 0) this.u8 = new Uint8Array(this.ctx.memory.buffer);
    return this.u8;
  }

  /** Runs `entry` on `input` with `budget` fuel. Throws RoamError; sets `broken` on traps. */
  call(entry: EntryPoint, input: Uint8Array, budget: number): CallResult {
    let fn = this.fns[entry.index];
    if (!fn) {
      fn = this.exports[entry.export] as Entry;
      this.fns[entry.index] = fn;
    }
    this.setFuel(budget);
    let n: number;
    try {
      if (input.length > this.inCap) {
        this.inPtr = this.roamIn(input.length);
        this.inCap = input.length;
      }
      this.view().set(input, this.inPtr);
      this.ctx.allowed = entry.allowed;
      n = fn(input.length);
    } catch (e) {
      this.broken = true;
      throw this.explain(e, entry, budget);
    }
    const fuelUsed = budget - this.fuelLeft();
    if (n === 0) return { reply: new Uint8Array(0), fuelUsed };
    let at = this.roamOut();
    const mem = this.view();
    let len = n;
    if (n < 0) {
      // Error reply: [u32 length][UTF-8 message].
      len = at + 4 <= mem.length ? Math.min(new DataView(mem.buffer).getUint32(at, true), 4096) : 0;
      at += 4;
    }
    if (at + len > mem.length) {
      this.broken = true;
      throw new RoamError('E_ABI', `'${entry.name}' returned a reply of ${len} bytes at ${at}, outside linear memory`);
    }
    const reply = mem.slice(at, at + len);
    if (n < 0) throw new RoamError('E_HANDLER', `'${entry.name}' failed with code ${-n}: ${Buffer.from(reply).toString('utf8')}`, { cause: { status: -n } });
    return { reply, fuelUsed };
  }

  private explain(e: unknown, entry: EntryPoint, budget: number): RoamError {
    const who = `'${entry.name}'`;
    if (this.fuelLeft() < 0) return new RoamError('E_FUEL', `fuel exhausted: ${who} used more than its ${budget} fuel per message`, { cause: e });
    if (this.growFailed() === 1) {
      const pages = (this.ctx.memory.buffer.byteLength / 65536) | 0;
      return new RoamError('E_MEMORY_LIMIT', `memory limit exceeded: ${who} tried to grow memory past ${pages} pages (${pages * 64} KiB)`, { cause: e });
    }
    if (e instanceof RoamError) return new RoamError(e.code, `${who}: ${e.message}`, { cause: e });
    if (e instanceof RangeError && /call stack/i.test(e.message)) return new RoamError('E_STACK', `call stack exhausted in ${who} (unbounded recursion?)`, { cause: e });
    if (e instanceof WebAssembly.RuntimeError) return new RoamError('E_TRAP', `${who} trapped: ${e.message}`, { cause: e });
    return new RoamError('E_TRAP', `${who} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
