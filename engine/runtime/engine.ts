import { RoamError } from '../errors.ts';
import type { Bundle } from '../bundle/bundle.ts';
import type { Manifest } from '../bundle/manifest.ts';
import { CAPABILITIES, IMPLICIT } from '../capabilities/index.ts';
import type { Capability } from '../capabilities/capability.ts';
import { Admission } from '../admission/admission.ts';
import { RegionStore } from '../regions/region-store.ts';
import { DEFAULT_ENGINE_LIMITS, type EngineLimits } from '../verify/verify.ts';
import { type CallResult, type EntryPoint, GuestInstance } from './guest-instance.ts';
import { JsInstance } from '../jsguest/js-instance.ts';
import { jsCodeOfModule, type JsCode } from '../bundle/js-section.ts';
import { engineModuleAsync } from '../jsguest/quickjs-engine.ts';

/** What the pool holds: a Wasm guest instance or a JS one (engine/jsguest), same call contract. */
type Instance = Pick<GuestInstance, 'call' | 'broken' | 'view'>;

export interface EngineOptions {
  limits?: Partial<EngineLimits>;
  /** Extra capabilities (gpu, mpi, …) besides the built-in ones. */
  capabilities?: Capability[];
  /** Capability names this engine refuses even when declared (e.g. a place without GPU). */
  deny?: string[];
  regions?: RegionStore;
  /** Instances kept ready per deployment (default 1: calls are synchronous in one thread). */
  poolSize?: number;
}

export interface DeploymentStats {
  calls: number;
  errors: number;
  traps: number;
  fuelUsed: number;
  instancesCreated: number;
}

/**
 * The embedder: verifies, meters and compiles bundles (cached by content hash) and hands out
 * deployments. Like wasmtime's Engine: one per process or place, shared by many bundles.
 */
export class Engine {
  readonly limits: EngineLimits;
  readonly capabilities: ReadonlyMap<string, Capability>;
  readonly regions: RegionStore;
  /** Parse → verify → meter → compile, cached by code: the one admission path (engine/admission). */
  readonly admission: Admission;
  private readonly poolSize: number;

  constructor(opts: EngineOptions = {}) {
    this.limits = { ...DEFAULT_ENGINE_LIMITS, ...opts.limits };
    const caps = new Map(CAPABILITIES);
    for (const c of opts.capabilities ?? []) caps.set(c.name, c);
    for (const d of opts.deny ?? []) caps.delete(d);
    this.capabilities = caps;
    this.admission = new Admission(caps, this.limits);
    this.regions = opts.regions ?? new RegionStore();
    this.poolSize = Math.max(1, opts.poolSize ?? 1);
  }

  /** Verifies and meters without compiling; returns the bundle and the instrumented bytes. */
  prepare(bytes: Uint8Array): { bundle: Bundle; metered: Uint8Array } {
    const bundle = this.admission.checkCore(bytes);
    return { bundle, metered: this.admission.meter(bundle) };
  }

  /** Verifies, meters and compiles a bundle (synchronously; compiled modules are cached by code). */
  deploy(bytes: Uint8Array): Deployment {
    const bundle = this.admission.checkCore(bytes);
    return new Deployment(this, bundle, this.admission.compileSync(bundle), this.poolSize);
  }

  /** As deploy(), but compiles off this thread (WebAssembly.compile): for a thread that must not stall, such as a server's network thread. */
  async deployAsync(bytes: Uint8Array): Promise<Deployment> {
    const bundle = this.admission.checkCore(bytes);
    const module = await this.admission.compile(bundle, true);
    if (jsCodeOfModule(module)) await engineModuleAsync(); // a TS bundle: the shared QuickJS engine compiles off this thread too
    return new Deployment(this, bundle, module, this.poolSize);
  }

  /**
   * Deploys a message-handler component (world `message`, engine/components) next to core bundles:
   * it runs in its own worker thread and shares this engine's RegionStore. Asynchronous, unlike deploy().
   */
  async deployComponent(bytes: Uint8Array, opts?: import('../components/component-function.ts').ComponentOptions): Promise<import('../components/message-deployment.ts').ComponentDeployment> {
    const { ComponentDeployment } = await import('../components/message-deployment.ts');
    return ComponentDeployment.deploy(this, bytes, opts);
  }
}

/** A deployed bundle: its entry points and a pool of instances that replaces any instance that traps. */
export class Deployment {
  readonly manifest: Manifest;
  readonly hash: string;
  readonly fuelBudget: number;
  readonly stats: DeploymentStats = { calls: 0, errors: 0, traps: 0, fuelUsed: 0, instancesCreated: 0 };
  private readonly entries = new Map<string, EntryPoint>();
  private readonly free: Instance[] = [];
  private readonly caps: Capability[];
  /** Set for a TypeScript/JavaScript bundle: its code, run by the shared QuickJS engine. */
  private readonly js: JsCode | null;

  constructor(private readonly engine: Engine, readonly bundle: Bundle, readonly module: WebAssembly.Module, poolSize: number) {
    this.manifest = bundle.manifest;
    this.hash = bundle.hash;
    this.fuelBudget = Math.min(this.manifest.limits.fuel, engine.limits.maxFuel);
    this.js = jsCodeOfModule(module);
    const regionIndex = new Map(this.manifest.regions.map((r, i) => [r.name, i]));
    const mask = (names: string[]) => {
      const m = new Uint8Array(this.manifest.regions.length);
      for (const n of names) m[regionIndex.get(n)!] = 1;
      return m;
    };
    for (const h of this.manifest.handlers) this.entries.set(h.name, { index: this.entries.size, name: h.name, export: h.export, allowed: mask(h.regions) });
    const all = this.manifest.regions.map((r) => r.name);
    for (const f of this.manifest.functions) this.entries.set(f.name, { index: this.entries.size, name: f.name, export: f.export, allowed: mask(all) });
    this.caps = [...IMPLICIT, ...this.manifest.capabilities].map((n) => engine.capabilities.get(n)!);
    for (let i = 0; i < poolSize; i++) this.free.push(this.instantiate());
  }

  private instantiate(): Instance {
    this.stats.instancesCreated++;
    try {
      if (this.js) return new JsInstance(this.js, this.manifest, this.caps, this.engine.regions.bind(this.manifest));
      return new GuestInstance(this.module, this.manifest, this.caps, this.engine.regions.bind(this.manifest));
    } catch (e) {
      if (e instanceof RoamError) throw e;
      throw new RoamError('E_INSTANTIATE', `bundle '${this.manifest.name}' failed to instantiate: ${(e as Error).message}`);
    }
  }

  /** Entry point names (handlers and functions). */
  get names(): string[] {
    return [...this.entries.keys()];
  }

  entry(name: string): EntryPoint {
    const e = this.entries.get(name);
    if (!e) throw new RoamError('E_NO_ENTRY', `bundle '${this.manifest.name}' has no handler or function '${name}' (has: ${this.names.join(', ')})`);
    return e;
  }

  /** Invokes a handler or function with raw input; returns reply and fuel used. A trap fails only this call. */
  call(name: string, input: Uint8Array): CallResult {
    return this.callEntry(this.entry(name), input);
  }

  /** Hot path for callers that resolved the entry point once; `body` apart from a head: see GuestInstance.call. */
  callEntry(entry: EntryPoint, input: Uint8Array, body?: Uint8Array, borrow = false): CallResult {
    const inst = this.free.pop() ?? this.instantiate();
    this.stats.calls++;
    let r: CallResult;
    try {
      r = inst.call(entry, input, this.fuelBudget, body, borrow);
    } catch (e) {
      this.stats.errors++;
      if (inst.broken) this.stats.traps++;
      else this.free.push(inst);
      throw e;
    }
    this.free.push(inst);
    this.stats.fuelUsed += r.fuelUsed;
    return r;
  }

  /** Linear memory of the idle instances, in bytes (the largest; for stats and the body benchmarks). */
  memoryBytes(): number {
    let m = 0;
    for (const i of this.free) m = Math.max(m, i.view().length);
    return m;
  }

  /** Convenience: the reply only. */
  invoke(name: string, input: Uint8Array): Uint8Array {
    return this.call(name, input).reply;
  }
}
