import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { RoamError } from '../errors.ts';
import type { FnRequest, FnResponse } from '../runtime/http-abi.ts';
import type { RegionDecl } from '../bundle/manifest.ts';
import type { RegionStore } from '../regions/region-store.ts';
import { verifyComponent, type VerifiedComponent } from '../admission/verify-component.ts';
import { capMemory } from './cap-memory.ts';
import { ENTRY, transpileCached } from './transpile-cache.ts';
import { meterComponent, type TimeLimit } from './meter-component.ts';
import { logSink } from '../capabilities/log.ts';

export interface ComponentOptions {
  /** Wall-clock limit per call; the worker running the component is terminated past it (default 2000 ms). */
  timeLimitMs?: number;
  /** Engine-wide fuel cap per call; the manifest's limits.fuel applies below it (default: the manifest's). */
  maxFuel?: number;
  /** Engine-wide memory cap in 64 KiB pages; the manifest's limits.memoryPages applies below it (default 4096 = 256 MiB). */
  maxMemoryPages?: number;
  /**
   * Replace the worker (a fresh instance) after this many calls (default 5000). A componentize-js
   * guest's linear memory grows by about 1 KiB per call until it hits the cap and traps (measured:
   * ~16 k hello calls at 512 pages); recycling keeps it under the cap. 0 = never.
   */
  recycleAfterCalls?: number;
  /** Largest response body a wasi:http component may write (default unlimited; the gateway passes its body limit). */
  maxBodyBytes?: number;
  /**
   * Receives the guest's `log` lines, and a wasi:http component's stdout (info) and stderr (warn) lines.
   * Default: the log capability's sink (engine/capabilities/log.ts), where core bundles' guest logs go:
   * the engine's logger, with the bundle, the function or handler running and the tenant.
   */
  onLog?: (line: string, fn: string, level: 'info' | 'warn') => void;
  /**
   * Where a message-handler component's declared regions live (world `message`): the worker is handed
   * their SharedArrayBuffers, so it reads and writes the same bytes as core bundles bound to this store
   * (keyed by bundle name and region name). Default: a store of its own.
   */
  regions?: RegionStore;
  /**
   * Values for the environment variables the manifest declares (`env`), set by the operator at deploy. The
   * component's wasi:cli/environment holds exactly the declared names given a value here: never the
   * server's environment (issue 19: it held ROAM_TOKEN). A value for an undeclared name is refused.
   */
  env?: Record<string, string>;
  /** IPs and CIDR ranges a component with wasi:sockets may connect or send to (the server's --remote-allow);
   *  none by default: every address is refused (socket-allow.mjs). */
  socketAllow?: readonly string[];
}

/** One message for a message-handler component: its type, payload and the regions its handler declared (mask in manifest order). */
export interface MessageCall {
  type: number;
  payload: Uint8Array;
  allowed: Uint8Array;
}

export interface ComponentStats {
  calls: number;
  errors: number;
  traps: number;
  timeouts: number;
  /** Calls that ran out of fuel (E_FUEL). */
  fuelExhausted: number;
  /** Workers started, including replacements after a trap or timeout. */
  workersStarted: number;
  transpileMs: number;
  transpileCached: boolean;
}

interface Pending {
  id: number;
  req: FnRequest | MessageCall;
  resolve: (r: any) => void;
  reject: (e: Error) => void;
}

interface Reply {
  t: 'ready' | 'failed' | 'reply' | 'trap' | 'log';
  id?: number;
  /** On a trap: some metered core module ran out of fuel. */
  fuel?: boolean;
  /** On a trap: a memory.grow was refused at the memory cap during the call. */
  memory?: boolean;
  /** On a trap: the tail of what the guest wrote to stdout/stderr during the call (a panic message). */
  output?: string;
  level?: 'info' | 'warn';
  res?: FnResponse;
  /** A message handler's reply and the fuel it used. */
  reply?: Uint8Array;
  fuelUsed?: number;
  /** A RoamError code raised by a host function (E_REGION): the call fails with it instead of E_TRAP. */
  code?: string;
  message?: string;
  line?: string;
}

const WORKER_URL = new URL('./component-worker.mjs', import.meta.url);

/**
 * A deployed component function: verified at deploy, transpiled once (cached by content hash),
 * run in its own worker thread. Calls are pipelined to the worker and answered in order; the call
 * at the head has `timeLimitMs` to finish, else the worker is terminated (the watchdog) and the
 * calls in flight fail with E_TIMEOUT. A trap fails its call with E_TRAP and the worker is replaced.
 */
export class ComponentFunction {
  readonly stats: ComponentStats;
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private readonly inflight: Pending[] = [];
  private nextId = 1;
  private watchdog: NodeJS.Timeout | null = null;
  private closed = false;
  /** Calls sent to the current worker; a recycle waits for them to drain, then starts a fresh worker. */
  private sinceStart = 0;
  private recycling: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  private constructor(
    readonly component: VerifiedComponent,
    private readonly dir: string,
    private readonly modules: Record<string, WebAssembly.Module>,
    private readonly opts: Required<Pick<ComponentOptions, 'timeLimitMs'>> & ComponentOptions,
    transpile: { ms: number; cached: boolean },
    /** Fuel in every core module that can loop, or the watchdog alone (and why): shown in the gateway's deploy reply. */
    readonly timeLimit: TimeLimit,
    /** The memory cap every core module's memory got, in 64 KiB pages (what a memory-limit error names). */
    private readonly pages: number,
    /** A message-handler component's regions (decl + shared buffer), in manifest order; empty otherwise. */
    private readonly regionBuffers: Array<{ decl: RegionDecl; buffer: SharedArrayBuffer }> = [],
  ) {
    this.stats = { calls: 0, errors: 0, traps: 0, timeouts: 0, fuelExhausted: 0, workersStarted: 0, transpileMs: transpile.ms, transpileCached: transpile.cached };
  }

  /** Verifies, transpiles (cached), compiles and instantiates a component bundle; resolves once it can serve. */
  static async deploy(bytes: Uint8Array, opts: ComponentOptions = {}): Promise<ComponentFunction> {
    const component = verifyComponent(bytes);
    guestEnv(component.manifest.name, component.manifest.env ?? [], opts.env ?? {});
    const t = await transpileCached(bytes, component.hash);
    const pages = Math.min(component.manifest.limits.memoryPages, opts.maxMemoryPages ?? 4096);
    const fuel = Math.min(component.manifest.limits.fuel, opts.maxFuel ?? Infinity);
    const capped: Record<string, Uint8Array> = {};
    for (const f of readdirSync(t.dir).filter((n) => n.endsWith('.wasm'))) {
      capped[f] = capMemory(readFileSync(join(t.dir, f)), pages, `component '${component.manifest.name}'`);
    }
    const metered = meterComponent(t.dir, capped, pages, fuel);
    const modules: Record<string, WebAssembly.Module> = {};
    for (const [f, bytes] of Object.entries(metered.modules)) {
      try {
        modules[f] = await WebAssembly.compile(bytes as BufferSource);
      } catch (e) {
        throw new RoamError('E_MALFORMED', `component '${component.manifest.name}': core module ${f} does not compile: ${(e as Error).message}`);
      }
    }
    const regionBuffers = component.kind === 'roam-message' ? await sharedRegions(component, opts.regions) : [];
    const fn = new ComponentFunction(component, t.dir, modules, { timeLimitMs: 2000, ...opts }, t, metered.limit, pages, regionBuffers);
    await fn.start();
    return fn;
  }

  get name(): string {
    return this.component.manifest.name;
  }

  /**
   * New operator-set values for the declared environment variables (the control API's `PUT /v1/env/NAME`):
   * checked against the manifest (E_MANIFEST naming an undeclared one), in force from the next worker;
   * the current one answers the calls already sent to it first, then is replaced.
   */
  setEnv(env: Record<string, string>): void {
    guestEnv(this.name, this.component.manifest.env ?? [], env);
    this.opts.env = { ...env };
    const w = this.worker;
    if (!w || this.recycling) return; // the next worker starts with the new values anyway
    if (this.inflight.length === 0) {
      // Idle: replace it now (recycle() would finish synchronously, before its promise is stored).
      this.worker = null;
      this.ready = null;
      this.sinceStart = 0;
      void w.terminate();
    } else this.recycling = this.recycle(w);
  }

  private start(): Promise<void> {
    this.stats.workersStarted++;
    const w = new Worker(WORKER_URL, {
      workerData: { dir: this.dir, entry: ENTRY, imports: this.component.imports, modules: this.modules, exportName: this.component.exportName, kind: this.component.kind, maxBodyBytes: this.opts.maxBodyBytes, fuel: this.timeLimit.mode === 'fuel' ? this.timeLimit.fuel : 0, bundle: this.name, regions: this.regionBuffers, env: guestEnv(this.name, this.component.manifest.env ?? [], this.opts.env ?? {}), socketAllow: [...(this.opts.socketAllow ?? [])] },
      // Caps the JS heap of the glue; Wasm memory is capped through the core modules' maximum.
      resourceLimits: { maxOldGenerationSizeMb: 128 },
      stdout: true,
      stderr: true,
    });
    this.worker = w;
    // What the guest writes to this worker's stdout/stderr (a message component through preview2-shim) is its log.
    w.stdout.setEncoding('utf8');
    w.stderr.setEncoding('utf8');
    w.stdout.on('data', lineSplitter((line) => this.guestLine(line, 'info')));
    w.stderr.on('data', lineSplitter((line) => this.guestLine(line, 'warn')));
    this.ready = new Promise<void>((resolve, reject) => {
      const onEarlyExit = (code: number) => reject(new RoamError('E_INSTANTIATE', `component '${this.name}' worker exited (${code}) before it was ready`));
      w.once('exit', onEarlyExit);
      w.once('error', (e) => reject(new RoamError('E_INSTANTIATE', `component '${this.name}' failed to start: ${e.message}`)));
      w.on('message', (m: Reply) => {
        if (m.t === 'ready') {
          w.off('exit', onEarlyExit);
          w.on('exit', () => this.onExit(w));
          resolve();
        } else if (m.t === 'failed') {
          reject(new RoamError('E_INSTANTIATE', `component '${this.name}' failed to instantiate: ${m.message}`));
          void w.terminate();
        } else this.onMessage(m);
      });
    });
    this.ready.catch(() => { if (this.worker === w) this.worker = null; });
    return this.ready;
  }

  /** Serves one request. Rejects with a RoamError (E_TIMEOUT, E_TRAP) carrying the reason; never leaves the function unusable. */
  async call(req: FnRequest): Promise<FnResponse> {
    if (this.component.kind === 'roam-message') throw new RoamError('E_EXPORT', `component '${this.name}' is a message handler (world message), not a function: call it with callMessage`);
    return this.send(req);
  }

  /**
   * Delivers one message to a message-handler component (world `message`) and resolves with its reply.
   * `allowed` masks the manifest's regions the handler declared; a region access outside it, out of
   * bounds or against the region's access mode fails this call with E_REGION (the worker is replaced,
   * region bytes persist); a trap fails it with E_TRAP.
   */
  async callMessage(msg: MessageCall): Promise<{ reply: Uint8Array; fuelUsed: number }> {
    if (this.component.kind !== 'roam-message') throw new RoamError('E_EXPORT', `component '${this.name}' exports no roam:function/message-handler`);
    return this.send(msg);
  }

  private async send(req: FnRequest | MessageCall): Promise<any> {
    if (this.closed) throw new RoamError('E_CLOSED', `component '${this.name}' is closed`);
    this.stats.calls++;
    // Loop: while we awaited, a recycle may have begun or the worker may have been replaced.
    for (;;) {
      if (this.recycling) await this.recycling;
      else if (!this.worker) await this.start();
      else {
        const w = this.worker;
        await this.ready;
        if (this.worker === w && !this.recycling) break;
      }
    }
    const w = this.worker!;

    return new Promise<any>((resolve, reject) => {
      const p: Pending = { id: this.nextId++, req, resolve, reject };
      this.inflight.push(p);
      if (this.inflight.length === 1) this.arm();
      w.postMessage({ id: p.id, req });
      // Only after this call is queued on `w`, so the recycle waits for its reply too.
      const limit = this.opts.recycleAfterCalls ?? 5000;
      if (limit > 0 && ++this.sinceStart >= limit && !this.recycling) this.recycling = this.recycle(w);
    });
  }

  /** After the calls already sent to `w` are answered, swaps in a fresh worker. */
  private async recycle(w: Worker): Promise<void> {
    try {
      if (this.inflight.length > 0) await new Promise<void>((r) => (this.drained = r));
      if (this.worker === w) {
        this.worker = null;
        this.ready = null;
        void w.terminate();
      }
    } finally {
      this.sinceStart = 0;
      this.recycling = null;
    }
  }

  private arm(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = this.inflight.length > 0 ? setTimeout(() => this.onTimeout(), this.opts.timeLimitMs) : null;
  }

  private guestLine(line: string, level: 'info' | 'warn'): void {
    if (this.opts.onLog) this.opts.onLog(line, this.name, level);
    else logSink(this.name, level === 'warn' ? 2 : 1, line, this.running(), this.component.manifest.tenant);
  }

  /** The function or handler of the oldest call in flight (the one a log line most likely came from). */
  private running(): string | undefined {
    const m = this.component.manifest;
    const req = this.inflight[0]?.req;
    if (req && 'type' in req) return m.handlers.find((h) => h.type === req.type)?.name;
    return m.functions[0]?.name;
  }

  private onMessage(m: Reply): void {
    if (m.t === 'log') return this.guestLine(m.line!, m.level ?? 'info');
    const head = this.inflight.shift();
    if (!head || head.id !== m.id) return; // a reply from a worker already given up on
    if (m.t === 'reply') {
      head.resolve(m.res ?? { reply: m.reply!, fuelUsed: m.fuelUsed ?? 0 });
      this.arm();
      if (this.inflight.length === 0) this.signalDrained();
    } else {
      this.stats.errors++;
      if (m.fuel) {
        this.stats.fuelExhausted++;
        const budget = this.timeLimit.mode === 'fuel' ? this.timeLimit.fuel : 0;
        head.reject(new RoamError('E_FUEL', `fuel exhausted: component '${this.name}' used more than its ${budget} fuel per call`));
      } else if (m.code === 'E_REGION') {
        head.reject(new RoamError('E_REGION', `component '${this.name}': ${m.message}`));
      } else if (m.memory) {
        this.stats.traps++;
        head.reject(new RoamError('E_MEMORY_LIMIT', `memory limit exceeded: component '${this.name}' tried to grow its memory past the cap of ${capText(this.pages)} and then trapped (${m.message})${wrote(m.output)}; raise the cap with roam deploy --memory-mib N, or limits.memoryPages in roam.json (64 KiB pages)`));
      } else {
        this.stats.traps++;
        head.reject(new RoamError('E_TRAP', `component '${this.name}' trapped: ${m.message}${wrote(m.output)}`));
      }
      this.replaceWorker('an earlier call trapped');
    }
  }

  private onTimeout(): void {
    this.stats.timeouts++;
    const head = this.inflight.shift();
    if (head) {
      this.stats.errors++;
      head.reject(new RoamError('E_TIMEOUT', `component '${this.name}' exceeded its time limit of ${this.opts.timeLimitMs} ms (worker terminated)`));
    }
    this.replaceWorker('an earlier call exceeded the time limit');
  }

  /** Terminates the current worker and fails the calls queued behind the bad one; the next call starts a fresh worker. */
  private replaceWorker(why: string): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    const w = this.worker;
    this.worker = null;
    this.ready = null;
    for (const p of this.inflight.splice(0)) {
      this.stats.errors++;
      p.reject(new RoamError('E_ABORTED', `component '${this.name}' call aborted: ${why}`));
    }
    if (w) void w.terminate();
    this.signalDrained();
  }

  private signalDrained(): void {
    const d = this.drained;
    this.drained = null;
    d?.();
  }

  private onExit(w: Worker): void {
    if (this.worker === w && !this.closed) this.replaceWorker('the worker exited');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.replaceWorker('the function was closed');
  }
}

/** `16 pages (1 MiB)`. */
const capText = (pages: number): string => `${pages} pages (${pages % 16 === 0 ? `${pages / 16} MiB` : `${pages * 64} KiB`})`;

/** What the guest wrote before it trapped (its panic message), quoted; '' when nothing. */
const wrote = (output: string | undefined): string => (output ? `; the guest wrote: ${JSON.stringify(output)}` : '');

/** The SharedArrayBuffers of a message-handler component's declared regions, from `store` (tenant, bundle and region name). */
async function sharedRegions(component: VerifiedComponent, store?: RegionStore): Promise<Array<{ decl: RegionDecl; buffer: SharedArrayBuffer }>> {
  const { manifest } = component;
  if (manifest.regions.length === 0) return [];
  store ??= new (await import('../regions/region-store.ts')).RegionStore();
  return manifest.regions.map((decl) => {
    const buffer = store!.buffer(manifest, decl);
    // A worker thread can share only a SharedArrayBuffer (not a POSIX shm mapping's ArrayBuffer).
    if (!(buffer instanceof SharedArrayBuffer)) throw new RoamError('E_REGION', `component '${manifest.name}': region '${decl.name}' is not backed by a SharedArrayBuffer, so the component's worker cannot reach it`);
    return { decl, buffer };
  });
}

/** The environment a component gets: the declared names the operator gave values; nothing else, ever. */
function guestEnv(name: string, declared: string[], values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (!declared.includes(k)) throw new RoamError('E_MANIFEST', `component '${name}' gets a value for environment variable '${k}', which its manifest does not declare (env)`);
    if (typeof v !== 'string') throw new RoamError('E_MANIFEST', `environment variable '${k}' of component '${name}' must be a string`);
    out[k] = v;
  }
  return out;
}

/** Calls `line` for each line of a text stream's chunks; a line longer than 4 KiB is cut there (bounded memory). */
function lineSplitter(line: (text: string) => void): (chunk: string) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0 || pending.length > 4096) {
      const end = nl >= 0 && nl <= 4096 ? nl : 4096;
      if (end > 0) line(pending.slice(0, end));
      pending = pending.slice(end === nl ? end + 1 : end);
    }
  };
}
