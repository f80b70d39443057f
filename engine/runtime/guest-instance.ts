import { RoamError } from '../errors.ts';
import { putBytes } from '../bytes.ts';
import type { Manifest } from '../bundle/manifest.ts';
import type { Capability, GuestContext } from '../capabilities/capability.ts';
import type { BoundRegion } from '../regions/region-store.ts';
import { BODY_STATE, BodyIO } from '../capabilities/body.ts';
import { requestBodyAt, scanResponse, type ResponseScan } from './http-abi.ts';
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
  /** Set when the bundle declares `body` (roam:body): request bodies are pulled, not copied in. */
  private readonly io: BodyIO | null;

  /** The memory's maximum in pages (what E_MEMORY_LIMIT reports): the module's own, else the manifest's. */
  private readonly maxPages: number;

  constructor(module: WebAssembly.Module, manifest: Manifest, caps: Capability[], regions: BoundRegion[], maxPages?: number) {
    this.maxPages = maxPages ?? manifest.limits.memoryPages;
    const state = new Map<string, unknown>();
    const ctx: GuestContext = {
      manifest,
      memory: undefined as unknown as WebAssembly.Memory,
      regions,
      allowed: new Uint8Array(regions.length),
      state,
      view: () => this.view(),
      bytes: (ptr, len) => {
        const mem = this.view();
        if (ptr < 0 || len < 0 || ptr + len > mem.length) throw new RoamError('E_GUEST_BOUNDS', `guest pointer ${ptr}+${len} is outside linear memory (${mem.length} bytes)`);
        return mem.subarray(ptr, ptr + len);
      },
    };
    this.io = manifest.capabilities.includes('body') ? new BodyIO() : null;
    if (this.io) state.set(BODY_STATE, this.io);
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

  /**
   * Runs `entry` on `input` with `budget` fuel. Throws RoamError; sets `broken` on traps.
   * `input` is an encoded request; or, when `body` is given, the request's head only (ending with the
   * body length field) and its body apart (a chain hop's body read in place from the previous reply).
   * A bundle with roam:body gets the head only and pulls the body; any other gets head and body copied
   * into linear memory back to back.
   * `borrow`: the reply may be a view of linear memory (no copy), valid only until this instance's next
   * call (the chain runner, which reads each reply once before the next hop); else it is a copy.
   */
  call(entry: EntryPoint, input: Uint8Array, budget: number, body?: Uint8Array, borrow = false): CallResult {
    let fn = this.fns[entry.index];
    if (!fn) {
      fn = this.exports[entry.export] as Entry;
      this.fns[entry.index] = fn;
    }
    let head = input;
    let inline = body;
    const io = this.io;
    // A body may be this instance's own last reply, borrowed in place (a chain calling the same bundle
    // again): copy it out first when the call could overwrite it (input buffer reallocated, memory grown,
    // or the guest running while it reads the body).
    const own = body !== undefined && body.buffer === this.ctx.memory.buffer;
    if (io) {
      if (!body) {
        const at = requestBodyAt(input);
        head = input.subarray(0, at);
        body = input.subarray(at);
      }
      io.begin(own ? body.slice() : body);
      inline = undefined;
    }
    const size = head.length + (inline ? inline.length : 0);
    if (inline && own && size > this.inCap) inline = inline.slice();
    this.setFuel(budget);
    let n: number;
    try {
      if (size > this.inCap) {
        this.inPtr = this.roamIn(size);
        this.inCap = size;
      }
      const mem = this.view();
      putBytes(mem, this.inPtr, head);
      if (inline) mem.set(inline, this.inPtr + head.length);
      this.ctx.allowed = entry.allowed;
      this.ctx.entry = entry.name;
      n = fn(size);
    } catch (e) {
      this.broken = true;
      io?.end();
      throw this.explain(e, entry, budget);
    }
    const sink = io?.sink ?? null;
    io?.end();
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
    if (sink && n > 0) return { reply: this.streamed(entry, mem.subarray(at, at + len), sink), fuelUsed };
    const reply = borrow && n > 0 ? mem.subarray(at, at + len) : mem.slice(at, at + len);
    if (n < 0) throw new RoamError('E_HANDLER', `'${entry.name}' failed with code ${-n}: ${Buffer.from(reply).toString('utf8')}`, { cause: { status: -n } });
    return { reply, fuelUsed };
  }

  /** A reply whose body the guest wrote with roam:body.write: its head goes in front of that body. */
  private streamed(entry: EntryPoint, reply: Uint8Array, sink: import('../capabilities/body.ts').ReplySink): Uint8Array {
    const s = scanResponse(reply, [], this.scan);
    if (s.bodyLen !== 0) throw new RoamError('E_ABI', `'${entry.name}' returned a response with an inline body of ${s.bodyLen} bytes after writing ${sink.length} body bytes with roam:body.write`);
    return sink.finish(reply.subarray(0, s.bodyAt - 4));
  }
  private readonly scan: ResponseScan = { status: 0, bodyAt: 0, bodyLen: 0, found: [] };

  private explain(e: unknown, entry: EntryPoint, budget: number): RoamError {
    const who = `'${entry.name}'`;
    if (this.fuelLeft() < 0) return new RoamError('E_FUEL', `fuel exhausted: ${who} used more than its ${budget} fuel per message`, { cause: e });
    if (this.growFailed() === 1) {
      // The limit, not the size reached (issue 19: "past 1 pages" was reported when the limit was 16).
      const pages = (this.ctx.memory.buffer.byteLength / 65536) | 0;
      return new RoamError('E_MEMORY_LIMIT', `memory limit exceeded: ${who} tried to grow memory past its limit of ${this.maxPages} pages (${this.maxPages * 64} KiB; it had ${pages})`, { cause: e });
    }
    if (e instanceof RoamError) return new RoamError(e.code, `${who}: ${e.message}`, { cause: e });
    if (e instanceof RangeError && /call stack/i.test(e.message)) return new RoamError('E_STACK', `call stack exhausted in ${who} (unbounded recursion?)`, { cause: e });
    if (e instanceof WebAssembly.RuntimeError) return new RoamError('E_TRAP', `${who} trapped: ${e.message}`, { cause: e });
    return new RoamError('E_TRAP', `${who} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
