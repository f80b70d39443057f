/**
 * One JS guest instance: a QuickJS runtime + context inside the tenant's engine instance, with the bundle's
 * code evaluated once. Same contract as GuestInstance (runtime/guest-instance.ts): synchronous calls, a
 * RoamError per failure, `broken` after a trap-like failure (fuel, memory, stack, a refused host call), and
 * the pool replaces it; a thrown JS error or `fail()` is an application error and keeps the instance.
 */
import { RoamError } from '../errors.ts';
import type { Manifest } from '../bundle/manifest.ts';
import type { Capability, GuestContext } from '../capabilities/capability.ts';
import type { BoundRegion } from '../regions/region-store.ts';
import { BODY_STATE, BodyIO, type ReplySink } from '../capabilities/body.ts';
import { requestBodyAt, scanResponse, type ResponseScan } from '../runtime/http-abi.ts';
import type { CallResult, EntryPoint } from '../runtime/guest-instance.ts';
import { engineFor, poison, type QjsExports, type QuickJsEngine } from './quickjs-engine.ts';
import { HOST_FUNCTIONS, hostCall, type HostSide } from './host-calls.ts';
import type { JsCode } from '../bundle/js-section.ts';

/**
 * QuickJS calls the interrupt handler once per 10 000 interpreter polls (JS_INTERRUPT_COUNTER_INIT; a poll
 * is a function call or a backward jump, i.e. a loop iteration): the unit of JS fuel is one poll, charged
 * in blocks of this size. See README for the exactness this gives.
 */
export const TICKS_PER_INTERRUPT = 10_000;
/**
 * QuickJS's own stack bound (bytes of the engine's 5 MiB C stack): ~680 nested JS calls. It must trip before
 * V8's native stack does (each JS call is also Wasm frames on the thread's stack; 512 KiB overflowed V8 on
 * the main thread at ~2700 calls), since a V8 overflow unwinds through QuickJS mid-operation.
 */
const MAX_STACK = 128 * 1024;
const JS_EVAL_FLAG_STRICT = 1 << 3;
const NO_LIMIT = -1;
const EMPTY = new Uint8Array(0);
/**
 * Run before a bundle's code: code is fixed at deploy, so eval and the Function constructors (reachable
 * from any function's prototype chain) throw, whatever spelling slipped past the build's check.
 * `instanceof Function` keeps working (the stand-in shares Function.prototype).
 */
const HARDEN = `(function () {
  function no() { throw new TypeError("eval and the Function constructor are not available to roam guests: code is fixed when the bundle is deployed"); }
  no.prototype = Function.prototype;
  var fixed = { value: no, writable: false, configurable: false };
  var protos = [function () {}, function* () {}, async function () {}, async function* () {}].map(Object.getPrototypeOf);
  for (var i = 0; i < protos.length; i++) Object.defineProperty(protos[i], "constructor", fixed);
  Object.defineProperty(globalThis, "eval", fixed);
  Object.defineProperty(globalThis, "Function", fixed);
})();`;

/**
 * Routes an engine's callbacks to the instance that owns the context or runtime. Weakly: a deployment that
 * is replaced drops its instances, and the finalizer then frees their runtimes.
 */
class Router {
  readonly byCtx = new Map<number, WeakRef<JsInstance>>();
  readonly byRt = new Map<number, WeakRef<JsInstance>>();
  constructor(engine: QuickJsEngine) {
    engine.setHost({
      call: (ctx, _argc, argv, id) => this.byCtx.get(ctx)!.deref()!.hostCall(id, argv),
      interrupt: (rt) => this.byRt.get(rt)?.deref()?.tick() ?? false,
    });
  }
}
const routers = new WeakMap<QuickJsEngine, Router>();
const routerOf = (e: QuickJsEngine): Router => {
  let r = routers.get(e);
  if (!r) routers.set(e, (r = new Router(e)));
  return r;
};

interface Native {
  engine: QuickJsEngine;
  rt: number;
  ctx: number;
  /** JSValue pointers this instance keeps (entry functions), freed before the context. */
  held: number[];
  /** The call's argument array (engine malloc). */
  argv: number;
}
/** Frees a runtime whose instance was dropped without dispose() (a replaced deployment). */
const finalizer = new FinalizationRegistry<Native>((n) => freeNative(n));
function freeNative(n: Native): void {
  if (n.rt === 0 || n.engine.poisoned) return;
  const x = n.engine.x;
  for (const v of n.held) x.QTS_FreeValuePointer(n.ctx, v);
  if (n.argv) x.free(n.argv);
  x.QTS_FreeContext(n.ctx);
  x.QTS_FreeRuntime(n.rt);
  const r = routers.get(n.engine);
  r?.byCtx.delete(n.ctx);
  r?.byRt.delete(n.rt);
  n.rt = 0;
}

export class JsInstance implements HostSide {
  broken = false;
  readonly imports: Record<string, Record<string, (...a: any[]) => any>> = {};
  private readonly e: QuickJsEngine;
  private readonly x: QjsExports;
  private readonly n: Native;
  private readonly ctx: number;
  private readonly undef: number;
  private readonly gctx: GuestContext;
  private readonly fns: number[] = [];
  private readonly kinds = new Map<string, number>();
  private readonly argv: number;
  private readonly memLimit: number;
  private readonly io: BodyIO | null;
  private errFn = 0;
  private entryFn = 0;
  private ticks = 0;
  private limit = 0;
  private fuelOut = false;
  private hostError: RoamError | null = null;
  private out = new Uint8Array(256);

  constructor(js: JsCode, private readonly manifest: Manifest, caps: Capability[], regions: BoundRegion[]) {
    const e = (this.e = engineFor(manifest.tenant));
    const x = (this.x = e.x);
    const router = routerOf(e);
    const rt = x.QTS_NewRuntime();
    this.memLimit = manifest.limits.memoryPages * 65536;
    x.QTS_RuntimeSetMaxStackSize(rt, MAX_STACK);
    x.QTS_RuntimeEnableInterruptHandler(rt);
    const ctx = (this.ctx = x.QTS_NewContext(rt, 0));
    this.n = { engine: e, rt, ctx, held: [], argv: 0 };
    const self = new WeakRef(this);
    router.byRt.set(rt, self);
    router.byCtx.set(ctx, self);
    finalizer.register(this, this.n, this);
    this.undef = x.QTS_GetUndefined();
    this.argv = e.x.malloc(8);
    this.n.argv = this.argv;
    const state = new Map<string, unknown>();
    this.gctx = {
      manifest,
      memory: e.memory,
      regions,
      allowed: new Uint8Array(regions.length),
      state,
      view: () => e.refresh(),
      bytes: (ptr, len) => {
        const mem = e.refresh();
        if (ptr < 0 || len < 0 || ptr + len > mem.length) throw new RoamError('E_GUEST_BOUNDS', `pointer ${ptr}+${len} is outside the engine's memory`);
        return mem.subarray(ptr, ptr + len);
      },
    };
    this.io = manifest.capabilities.includes('body') ? new BodyIO() : null;
    if (this.io) state.set(BODY_STATE, this.io);
    for (const c of caps) this.imports[c.name] = c.imports(this.gctx);
    for (const h of manifest.handlers) this.kinds.set(h.name, 0);
    for (const f of manifest.functions) this.kinds.set(f.name, 1);
    // Loading the code (its top level) runs on one message's fuel, as a Wasm start function does.
    this.limit = Math.ceil(manifest.limits.fuel / TICKS_PER_INTERRUPT);
    try {
      this.installHost();
      this.evalCode(js.code);
      x.QTS_RuntimeSetMemoryLimit(rt, this.memLimit);
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  /** The engine's memory (for Deployment.memoryBytes; shared by the tenant's instances in this thread). */
  view(): Uint8Array {
    return this.e.refresh();
  }

  /** Bytes of JS heap this instance holds (QuickJS's malloc accounting). */
  heapBytes(): number {
    const v = this.x.QTS_RuntimeComputeMemoryUsage(this.n.rt, this.ctx);
    const used = this.getNumberProp(v, 'memory_used_size');
    this.x.QTS_FreeValuePointer(this.ctx, v);
    return used;
  }

  /** Frees the runtime now (a broken instance; the pool drops it). */
  dispose(): void {
    if (this.n.rt === 0) return;
    finalizer.unregister(this);
    freeNative(this.n);
  }

  call(entry: EntryPoint, input: Uint8Array, budget: number, body?: Uint8Array, borrow = false): CallResult {
    if (this.e.poisoned) {
      this.broken = true;
      throw new RoamError('E_TRAP', `'${entry.name}': its JS engine instance was reset after another guest's failure; retry`);
    }
    const x = this.x;
    const ctx = this.ctx;
    const fn = this.fns[entry.index] ?? this.resolve(entry);
    let head = input;
    let inline = body;
    const io = this.io;
    if (io) {
      if (!body) {
        const at = requestBodyAt(input);
        head = input.subarray(0, at);
        body = input.subarray(at);
      }
      io.begin(body);
      inline = undefined;
    }
    const size = head.length + (inline ? inline.length : 0);
    const p = x.malloc(size || 1);
    if (p === 0) throw new RoamError('E_MEMORY_LIMIT', `'${entry.name}': the JS engine is out of memory for a ${size}-byte input`);
    const u8 = this.e.refresh();
    u8.set(head, p);
    if (inline) u8.set(inline, p + head.length);
    const ab = x.QTS_NewArrayBuffer(ctx, p, size);
    this.e.refresh();
    this.e.dv.setUint32(this.argv, ab, true);
    this.gctx.allowed = entry.allowed;
    this.gctx.entry = entry.name;
    this.ticks = 0;
    this.limit = Math.ceil(budget / TICKS_PER_INTERRUPT);
    this.fuelOut = false;
    this.hostError = null;
    let r: number;
    try {
      r = x.QTS_Call(ctx, fn, this.undef, 1, this.argv);
    } catch (e) {
      // Unwound through the engine (V8's own stack overflow, an engine abort): its heap may be mid-update,
      // so the whole engine instance is dropped, not just this runtime.
      io?.end();
      this.broken = true;
      poison(this.e);
      const stack = e instanceof RangeError;
      throw new RoamError(stack ? 'E_STACK' : 'E_TRAP', stack ? `call stack exhausted in '${entry.name}' (unbounded recursion?)` : `'${entry.name}' stopped the JS engine: ${(e as Error).message}`, { cause: e });
    }
    x.QTS_FreeValuePointer(ctx, ab);
    const sink = io?.sink ?? null;
    io?.end();
    const exc = x.QTS_ResolveException(ctx, r);
    if (exc !== 0 || this.hostError) {
      x.QTS_FreeValuePointer(ctx, r);
      throw this.explain(exc, entry, budget);
    }
    return this.reply(entry, r, sink, borrow);
  }

  /** Interrupt handler: charges one block of fuel; true stops the guest (an uncatchable error in QuickJS). */
  tick(): boolean {
    if (++this.ticks <= this.limit) return false;
    this.fuelOut = true;
    return true;
  }

  hostCall(id: number, argv: number): number {
    try {
      return hostCall(this, id, argv);
    } catch (err) {
      const e = err instanceof RoamError ? err : new RoamError('E_TRAP', (err as Error).message);
      this.hostError ??= e;
      return this.throwError(`${e.code} ${e.message}`);
    }
  }

  // --- HostSide ---
  num(argv: number, i: number): number {
    return this.x.QTS_GetFloat64(this.ctx, this.x.QTS_ArgvGetJSValueConstPointer(argv, i));
  }
  str(argv: number, i: number): string {
    const s = this.x.QTS_GetString(this.ctx, this.x.QTS_ArgvGetJSValueConstPointer(argv, i));
    if (s === 0) return '';
    const v = this.e.readCString(s);
    this.x.QTS_FreeCString(this.ctx, s);
    return v;
  }
  cstrArg(argv: number, i: number): [number, number] {
    const s = this.x.QTS_GetString(this.ctx, this.x.QTS_ArgvGetJSValueConstPointer(argv, i));
    if (s === 0) throw new RoamError('E_ABI', 'expected a string argument');
    return [s, this.e.refresh().indexOf(0, s) - s];
  }
  freeCStr(p: number): void {
    this.x.QTS_FreeCString(this.ctx, p);
  }
  bytesArg(argv: number, i: number): [number, number] {
    const a = this.x.QTS_ArgvGetJSValueConstPointer(argv, i);
    const n = this.x.QTS_GetArrayBufferLength(this.ctx, a);
    const p = this.x.QTS_GetArrayBuffer(this.ctx, a);
    if (p === 0) throw new RoamError('E_ABI', 'expected an ArrayBuffer argument');
    return [p, n];
  }
  newNumber(n: number): number {
    return this.x.QTS_NewFloat64(this.ctx, n);
  }
  newString(s: string): number {
    const p = this.e.cstring(s);
    const v = this.x.QTS_NewString(this.ctx, p);
    this.x.free(p);
    return v;
  }
  newBuffer(ptr: number, len: number): number {
    return this.x.QTS_NewArrayBuffer(this.ctx, ptr, len);
  }
  malloc(n: number): number {
    const p = this.x.malloc(n);
    if (p === 0) throw new RoamError('E_MEMORY_LIMIT', `the JS engine could not allocate ${n} bytes`);
    return p;
  }
  free(p: number): void {
    this.x.free(p);
  }
  u8(): Uint8Array {
    return this.e.refresh();
  }

  // --- setup ---
  private installHost(): void {
    const x = this.x;
    const ctx = this.ctx;
    const declared = new Set(['core', ...this.manifest.capabilities]);
    const obj = x.QTS_NewObject(ctx);
    HOST_FUNCTIONS.forEach(([name, cap], id) => {
      if (!declared.has(cap)) return;
      const np = this.e.cstring(name);
      const f = x.QTS_NewFunction(ctx, np, 0, 0, id);
      x.free(np);
      this.setProp(obj, name, f);
      x.QTS_FreeValuePointer(ctx, f);
    });
    const g = x.QTS_GetGlobalObject(ctx);
    this.setProp(g, '__roam_host', obj);
    x.QTS_FreeValuePointer(ctx, obj);
    x.QTS_FreeValuePointer(ctx, g);
  }

  private evalCode(code: string): void {
    this.evalScript(HARDEN, '<roam>');
    this.evalScript(code, `${this.manifest.name}.js`);
    this.entryFn = this.globalProp('__roam_entry');
    this.errFn = this.globalProp('__roam_err');
    if (this.entryFn === 0 || this.errFn === 0) throw new RoamError('E_INSTANTIATE', `bundle '${this.manifest.name}' was not built with the roam/guest runtime (no __roam_entry)`);
    // Every entry is resolved now: a missing export fails the deploy, not the first message.
    let i = 0;
    for (const name of this.kinds.keys()) this.resolveName(name, i++);
  }

  private evalScript(code: string, file: string): void {
    const x = this.x;
    const cp = this.e.cstring(code);
    const fp = this.e.cstring(file);
    const r = x.QTS_Eval(this.ctx, cp, Buffer.byteLength(code), fp, 0, JS_EVAL_FLAG_STRICT);
    x.free(cp);
    x.free(fp);
    const exc = x.QTS_ResolveException(this.ctx, r);
    x.QTS_FreeValuePointer(this.ctx, r);
    if (exc !== 0) {
      if (this.fuelOut) throw new RoamError('E_FUEL', `bundle '${this.manifest.name}': loading its code used more than ${this.manifest.limits.fuel} fuel`);
      const msg = this.errorText(exc);
      throw new RoamError('E_INSTANTIATE', `bundle '${this.manifest.name}': its code failed to load: ${msg.message}`);
    }
  }

  private resolve(entry: EntryPoint): number {
    return this.resolveName(entry.name, entry.index);
  }

  private resolveName(name: string, index: number): number {
    const x = this.x;
    const decl = [...this.manifest.handlers, ...this.manifest.functions].find((d) => d.name === name)!;
    const k = x.QTS_NewFloat64(this.ctx, this.kinds.get(name)!);
    const s = this.newString(decl.export);
    const u8 = this.e.refresh();
    const argv = x.malloc(8);
    const dv = new DataView(u8.buffer);
    dv.setUint32(argv, k, true);
    dv.setUint32(argv + 4, s, true);
    const r = x.QTS_Call(this.ctx, this.entryFn, this.undef, 2, argv);
    x.free(argv);
    x.QTS_FreeValuePointer(this.ctx, k);
    x.QTS_FreeValuePointer(this.ctx, s);
    const exc = x.QTS_ResolveException(this.ctx, r);
    if (exc !== 0) {
      x.QTS_FreeValuePointer(this.ctx, r);
      throw new RoamError('E_EXPORT', `bundle '${this.manifest.name}': ${this.errorText(exc).message}`);
    }
    this.n.held.push(r);
    this.fns[index] = r;
    return r;
  }

  private globalProp(name: string): number {
    const g = this.x.QTS_GetGlobalObject(this.ctx);
    const k = this.newString(name);
    const v = this.x.QTS_GetProp(this.ctx, g, k);
    this.x.QTS_FreeValuePointer(this.ctx, k);
    this.x.QTS_FreeValuePointer(this.ctx, g);
    const t = this.x.QTS_Typeof(this.ctx, v);
    const isFn = this.e.readCString(t) === 'function';
    this.x.free(t);
    if (!isFn) {
      this.x.QTS_FreeValuePointer(this.ctx, v);
      return 0;
    }
    this.n.held.push(v);
    return v;
  }

  private setProp(obj: number, name: string, v: number): void {
    const k = this.newString(name);
    this.x.QTS_SetProp(this.ctx, obj, k, v);
    this.x.QTS_FreeValuePointer(this.ctx, k);
  }

  private getNumberProp(obj: number, name: string): number {
    const k = this.newString(name);
    const v = this.x.QTS_GetProp(this.ctx, obj, k);
    const n = this.x.QTS_GetFloat64(this.ctx, v);
    this.x.QTS_FreeValuePointer(this.ctx, v);
    this.x.QTS_FreeValuePointer(this.ctx, k);
    return n;
  }

  /** Throws a JS Error with `message` into the guest; returns the exception value for the C side. */
  private throwError(message: string): number {
    const x = this.x;
    const err = x.QTS_NewError(this.ctx);
    const m = this.newString(message);
    this.setProp(err, 'message', m);
    x.QTS_FreeValuePointer(this.ctx, m);
    const t = x.QTS_Throw(this.ctx, err);
    x.QTS_FreeValuePointer(this.ctx, err);
    return t;
  }

  // --- results and errors ---
  /** Copies the returned ArrayBuffer out (into a reused buffer when the caller borrows) and frees it. */
  private reply(entry: EntryPoint, r: number, sink: ReplySink | null, borrow: boolean): CallResult {
    const x = this.x;
    const fuelUsed = this.ticks * TICKS_PER_INTERRUPT;
    let reply = EMPTY;
    try {
      const len = x.QTS_GetArrayBufferLength(this.ctx, r);
      if (len > 0) {
        const p = x.QTS_GetArrayBuffer(this.ctx, r);
        if (p === 0) throw new RoamError('E_ABI', `'${entry.name}' returned something other than bytes`);
        const src = this.e.refresh().subarray(p, p + len);
        if (borrow) {
          if (this.out.length < len) this.out = new Uint8Array(Math.max(len, this.out.length * 2));
          this.out.set(src);
          reply = this.out.subarray(0, len);
        } else reply = src.slice();
        x.free(p);
      }
    } finally {
      x.QTS_FreeValuePointer(this.ctx, r);
    }
    if (sink) return { reply: this.streamed(entry, reply, sink), fuelUsed };
    return { reply, fuelUsed };
  }

  /** The RoamError for a failed call; a trap-like failure breaks (and frees) this instance. */
  private explain(exc: number, entry: EntryPoint, budget: number): RoamError {
    const who = `'${entry.name}'`;
    let err: RoamError;
    let trap = true;
    if (this.fuelOut) {
      err = new RoamError('E_FUEL', `fuel exhausted: ${who} used more than its ${budget} fuel per message`);
      if (exc !== 0) this.x.QTS_FreeValuePointer(this.ctx, exc);
    } else if (this.hostError) {
      const h = this.hostError;
      err = new RoamError(h.code, `${who}: ${h.message}`, { cause: h });
      if (exc !== 0) this.x.QTS_FreeValuePointer(this.ctx, exc);
    } else {
      const t = this.errorText(exc);
      const pages = this.manifest.limits.memoryPages;
      if (t.code === 0 && /out of memory/.test(t.message)) err = new RoamError('E_MEMORY_LIMIT', `memory limit exceeded: ${who} passed its ${pages} pages (${pages * 64} KiB) of JS heap`);
      else if (t.code === 0 && /stack overflow|call stack/i.test(t.message)) err = new RoamError('E_STACK', `call stack exhausted in ${who} (unbounded recursion?)`);
      else {
        trap = false;
        const status = t.code === 0 ? 500 : t.code;
        err = new RoamError('E_HANDLER', `${who} failed with code ${status}: ${t.message}`, { cause: { status } });
      }
    }
    if (trap) {
      this.broken = true;
      this.dispose();
    }
    return err;
  }

  /** [code, message] of a thrown value through the runtime's __roam_err (fuel and memory limit lifted meanwhile); frees exc. */
  private errorText(exc: number): { code: number; message: string } {
    const x = this.x;
    const rt = this.n.rt;
    x.QTS_RuntimeSetMemoryLimit(rt, NO_LIMIT);
    const limit = this.limit;
    this.limit = Number.MAX_SAFE_INTEGER;
    let text: string;
    try {
      if (this.errFn === 0) text = `0\n${this.cString(exc)}`;
      else {
        this.e.refresh();
        this.e.dv.setUint32(this.argv, exc, true);
        const r = x.QTS_Call(this.ctx, this.errFn, this.undef, 1, this.argv);
        const again = x.QTS_ResolveException(this.ctx, r);
        text = again === 0 ? this.cString(r) : `0\n${this.cString(exc)}`;
        if (again !== 0) x.QTS_FreeValuePointer(this.ctx, again);
        x.QTS_FreeValuePointer(this.ctx, r);
      }
    } finally {
      x.QTS_FreeValuePointer(this.ctx, exc);
      x.QTS_RuntimeSetMemoryLimit(rt, this.memLimit);
      this.limit = limit;
    }
    const nl = text.indexOf('\n');
    const code = Number(text.slice(0, nl));
    return { code: Number.isInteger(code) && code >= 0 && code <= 65535 ? code : 0, message: text.slice(nl + 1).slice(0, 4096) };
  }

  private cString(v: number): string {
    const s = this.x.QTS_GetString(this.ctx, v);
    if (s === 0) return '<unprintable>';
    const t = this.e.readCString(s);
    this.x.QTS_FreeCString(this.ctx, s);
    return t;
  }

  private readonly scan: ResponseScan = { status: 0, bodyAt: 0, bodyLen: 0, found: [] };
  private streamed(entry: EntryPoint, reply: Uint8Array, sink: ReplySink): Uint8Array {
    const s = scanResponse(reply, [], this.scan);
    if (s.bodyLen !== 0) throw new RoamError('E_ABI', `'${entry.name}' returned a response with an inline body of ${s.bodyLen} bytes after writing ${sink.length} body bytes with writeBody`);
    return sink.finish(reply.subarray(0, s.bodyAt - 4));
  }
}
