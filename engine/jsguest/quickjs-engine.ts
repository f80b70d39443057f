/**
 * The shared QuickJS engine: QuickJS compiled to Wasm by quickjs-emscripten (the `@jitl/quickjs-wasmfile-
 * release-sync` build, pinned), loaded here without its emscripten glue so that it instantiates
 * synchronously (the glue's factory is async, and a place's deploy path is not) and so that the per-message
 * path calls the engine's exports directly (no handle objects per call).
 *
 * One compiled WebAssembly.Module per thread (cached, by content hash); one engine instance per tenant per
 * thread (tenants never share a linear memory); any number of QuickJS runtimes inside an instance, one per
 * guest instance (separate heaps, GC and memory limits; no object crosses between them).
 *
 * The imports below are the emscripten runtime of that exact build (letters are the minified import names
 * of `emscripten-module.mjs`); the engine is refused unless its sha256 is ENGINE_HASH.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { RoamError } from '../errors.ts';

import { ENGINE_HASH } from '../bundle/js-section.ts';

export { ENGINE_HASH, ENGINE_NAME } from '../bundle/js-section.ts';

const require = createRequire(import.meta.url);
const PKG_DIR = dirname(require.resolve('@jitl/quickjs-wasmfile-release-sync/package.json'));

/** The exports this runtime uses, by their C names. */
export interface QjsExports {
  malloc(n: number): number;
  free(p: number): void;
  QTS_NewRuntime(): number;
  QTS_FreeRuntime(rt: number): void;
  QTS_NewContext(rt: number, intrinsics: number): number;
  QTS_FreeContext(ctx: number): void;
  QTS_RuntimeSetMemoryLimit(rt: number, limit: number): void;
  QTS_RuntimeSetMaxStackSize(rt: number, size: number): void;
  QTS_RuntimeEnableInterruptHandler(rt: number): void;
  QTS_RuntimeComputeMemoryUsage(rt: number, ctx: number): number;
  QTS_Eval(ctx: number, code: number, len: number, filename: number, detectModule: number, flags: number): number;
  QTS_ResolveException(ctx: number, v: number): number;
  QTS_FreeValuePointer(ctx: number, v: number): void;
  QTS_DupValuePointer(ctx: number, v: number): number;
  QTS_GetGlobalObject(ctx: number): number;
  QTS_NewObject(ctx: number): number;
  QTS_GetProp(ctx: number, obj: number, key: number): number;
  QTS_GetPropNumber(ctx: number, obj: number, i: number): number;
  QTS_SetProp(ctx: number, obj: number, key: number, value: number): void;
  QTS_NewString(ctx: number, s: number): number;
  QTS_GetString(ctx: number, v: number): number;
  QTS_FreeCString(ctx: number, s: number): void;
  QTS_NewFloat64(ctx: number, n: number): number;
  QTS_GetFloat64(ctx: number, v: number): number;
  QTS_NewArrayBuffer(ctx: number, buf: number, len: number): number;
  QTS_GetArrayBuffer(ctx: number, v: number): number;
  QTS_GetArrayBufferLength(ctx: number, v: number): number;
  QTS_NewFunction(ctx: number, name: number, length: number, isConstructor: number, id: number): number;
  QTS_ArgvGetJSValueConstPointer(argv: number, i: number): number;
  QTS_Call(ctx: number, fn: number, thisv: number, argc: number, argv: number): number;
  QTS_Throw(ctx: number, err: number): number;
  QTS_NewError(ctx: number): number;
  QTS_GetUndefined(): number;
  QTS_Typeof(ctx: number, v: number): number;
  QTS_Dump(ctx: number, v: number): number;
}

/** Host side of the engine's callbacks into the embedder. */
export interface EngineHost {
  /** A host function created with QTS_NewFunction(…, id) was called; returns an owned JSValue* or 0 (undefined). */
  call(ctx: number, argc: number, argv: number, id: number): number;
  /** QuickJS polls (every 10 000 interpreter ticks, see README); true stops the running code. */
  interrupt(rt: number): boolean;
}

let compiled: WebAssembly.Module | undefined;
let exportMap: Map<string, string> | undefined;

/** The engine's bytes, checked against ENGINE_HASH. */
export function engineBytes(): Uint8Array {
  const bytes = readFileSync(join(PKG_DIR, 'dist/emscripten-module.wasm'));
  const hash = createHash('sha256').update(bytes).digest('hex');
  if (hash !== ENGINE_HASH) throw new RoamError('E_ENGINE', `the installed QuickJS engine has sha256 ${hash}, this roam speaks to ${ENGINE_HASH} (reinstall @jitl/quickjs-wasmfile-release-sync@0.32.0)`);
  return bytes;
}

/** The compiled engine, once per thread (a few ms; every later deploy reuses it). */
export function engineModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(engineBytes() as BufferSource);
  return compiled;
}

/** As engineModule, compiling off this thread (for a thread that must not stall, e.g. the inline lane's). */
export async function engineModuleAsync(): Promise<WebAssembly.Module> {
  compiled ??= await WebAssembly.compile(engineBytes() as BufferSource);
  return compiled;
}

/** True when this thread has compiled the engine already (for the cold-start benchmark). */
export const engineCompiled = (): boolean => compiled !== undefined;

/** C name → minified export name, read from the build's own glue (`d._NAME=b.X`). */
function exportNames(): Map<string, string> {
  if (exportMap) return exportMap;
  const glue = readFileSync(join(PKG_DIR, 'dist/emscripten-module.mjs'), 'utf8');
  const m = new Map<string, string>();
  for (const x of glue.matchAll(/d\._(\w+)=b\.([\w$]+)/g)) m.set(x[1]!, x[2]!);
  if (!m.has('malloc') || !m.has('QTS_Call')) throw new RoamError('E_ENGINE', 'cannot read the export names of the QuickJS engine glue');
  exportMap = m;
  return m;
}

const ENOSYS_CLOSE = 52;
const ESPIPE = 70;

/** One instance of the engine: its linear memory, exports, and the host that serves its callbacks. */
export class QuickJsEngine {
  /** Set when a call unwound through the engine: it is never used again (see poison). */
  poisoned = false;
  readonly x: QjsExports;
  readonly memory: WebAssembly.Memory;
  u8: Uint8Array;
  /** A DataView of memory, current after refresh(). */
  dv: DataView;
  private host: EngineHost | null = null;
  private readonly utf8 = new TextDecoder();
  private readonly enc = new TextEncoder();

  constructor() {
    this.memory = new WebAssembly.Memory({ initial: 256, maximum: 32768 });
    this.u8 = new Uint8Array(this.memory.buffer);
    this.dv = new DataView(this.memory.buffer);
    const instance = new WebAssembly.Instance(engineModule(), { a: this.imports() });
    const raw = instance.exports as Record<string, (...a: number[]) => number>;
    const x: Record<string, unknown> = {};
    for (const [name, letter] of exportNames()) x[name] = raw[letter];
    this.x = x as unknown as QjsExports;
    (raw.u as () => void)(); // __wasm_call_ctors
  }

  /** Who answers host calls and interrupts (the runtime registry of js-instance.ts). */
  setHost(h: EngineHost): void {
    this.host = h;
  }

  /** Views of memory after growth (growth detaches the old buffer). */
  refresh(): Uint8Array {
    if (this.u8.byteLength === 0 || this.u8.buffer !== this.memory.buffer) {
      this.u8 = new Uint8Array(this.memory.buffer);
      this.dv = new DataView(this.memory.buffer);
    }
    return this.u8;
  }

  /** A NUL-terminated UTF-8 copy of `s` in engine memory (free it with x.free). */
  cstring(s: string): number {
    const b = this.enc.encode(s);
    const p = this.x.malloc(b.length + 1);
    if (p === 0) throw new RoamError('E_MEMORY_LIMIT', 'the QuickJS engine is out of memory');
    const u8 = this.refresh();
    u8.set(b, p);
    u8[p + b.length] = 0;
    return p;
  }

  /** Reads a NUL-terminated UTF-8 string at p. */
  readCString(p: number): string {
    const u8 = this.refresh();
    let e = p;
    while (u8[e] !== 0) e++;
    return this.utf8.decode(u8.subarray(p, e));
  }

  private imports(): WebAssembly.ModuleImports {
    const fail = (what: string) => {
      throw new WebAssembly.RuntimeError(`QuickJS engine: ${what}`);
    };
    return {
      a: this.memory,
      b: (msg: number, file: number) => fail(`assertion failed: ${this.readCString(msg)} at ${file ? this.readCString(file) : '?'}`),
      // fd_write: the engine prints nothing a guest relies on; bytes are counted and dropped.
      c: (_fd: number, iov: number, iovcnt: number, pnum: number) => {
        this.refresh();
        let n = 0;
        for (let i = 0; i < iovcnt; i++) n += this.dv.getUint32(iov + 8 * i + 4, true);
        this.dv.setUint32(pnum, n, true);
        return 0;
      },
      d: () => ENOSYS_CLOSE,
      e: () => 0,
      f: (count: number, size: number) => {
        this.refresh();
        this.dv.setUint32(count, 0, true);
        this.dv.setUint32(size, 0, true);
        return 0;
      },
      g: () => 0, // normalizeModule: no module loader
      h: () => 0, // loadModuleSource: no module loader
      i: (rt: number) => (this.host?.interrupt(rt) ? 1 : 0),
      j: () => 0, // timers: guests have none
      k: (requested: number) => this.grow(requested >>> 0),
      l: () => {},
      m: (t: bigint, tm: number) => this.gmtime(Number(t), tm),
      n: (tz: number, daylight: number, std: number, dst: number) => {
        this.refresh();
        this.dv.setUint32(tz, 0, true);
        this.dv.setInt32(daylight, 0, true);
        for (const p of [std, dst]) this.u8.set([85, 84, 67, 0], p); // "UTC"
      },
      o: () => ESPIPE,
      p: () => Date.now(),
      q: () => fail('abort'),
      r: (code: number) => fail(`exit(${code})`),
      s: (ctx: number, _this: number, argc: number, argv: number, id: number) => (this.host ? this.host.call(ctx, argc, argv, id) : 0),
      t: () => {}, // freeHostRef: host function ids are plain numbers here
    };
  }

  /** emscripten_resize_heap: grows linear memory to at least `requested` bytes. */
  private grow(requested: number): number {
    const have = this.memory.buffer.byteLength;
    if (requested > 2 ** 31) return 0;
    const want = Math.min(2 ** 31, Math.max(requested, Math.ceil(have * 1.2)));
    try {
      this.memory.grow(Math.ceil((want - have) / 65536));
    } catch {
      return 0;
    }
    this.refresh();
    return 1;
  }

  /** localtime_r in UTC (guests see UTC; no host time zone leaks in). */
  private gmtime(seconds: number, tm: number): void {
    const d = new Date(seconds * 1000);
    this.refresh();
    const v = [d.getUTCSeconds(), d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate(), d.getUTCMonth(), d.getUTCFullYear() - 1900, d.getUTCDay()];
    for (let i = 0; i < v.length; i++) this.dv.setInt32(tm + 4 * i, v[i]!, true);
    const start = Date.UTC(d.getUTCFullYear(), 0, 1);
    this.dv.setInt32(tm + 28, Math.floor((d.getTime() - start) / 86_400_000), true);
    this.dv.setInt32(tm + 32, 0, true);
    this.dv.setInt32(tm + 36, 0, true);
  }
}

const engines = new Map<string, QuickJsEngine>();

/** Retires an engine instance whose state cannot be trusted; its tenant gets a fresh one on next use. */
export function poison(e: QuickJsEngine): void {
  e.poisoned = true;
  for (const [k, v] of engines) if (v === e) engines.delete(k);
}

/** The engine instance of `tenant` in this thread (created on first use). */
export function engineFor(tenant: string): QuickJsEngine {
  let e = engines.get(tenant);
  if (!e) {
    e = new QuickJsEngine();
    engines.set(tenant, e);
  }
  return e;
}
