/**
 * The gateway's deployed bundles and chains: verifies and meters uploads on the gateway thread (so a
 * refusal is a 400 before anything runs), compiles once and shares the compiled module with workers,
 * persists through the state store, and resolves function names and chain routes.
 */
import { createHash } from 'node:crypto';
import { RoamError } from '../errors.ts';
import { Engine } from '../runtime/engine.ts';
import { MANIFEST_SECTION, type Bundle } from '../bundle/bundle.ts';
import { meter } from '../meter/meter.ts';
import { verifyBundle } from '../verify/verify.ts';
import { checkRemote, isRemote } from '../chains/remote.ts';
import type { Manifest } from '../bundle/manifest.ts';
import type { ChainSpec, StateStore } from '../state/store.ts';
import type { TenantTable } from '../tenancy/tenants.ts';
import type { BundleRef } from './task.ts';
import { isComponent } from '../components/component-binary.ts';
import { ComponentFunction } from '../components/component-function.ts';
import { verifyComponent } from '../components/verify-component.ts';

export interface DeployedBundle {
  name: string;
  manifest: Manifest;
  ref: BundleRef;
  size: number;
  deployedAt: string;
  /** Set for a WebAssembly component: it runs in its own worker (engine/components), not in the executor's pool. */
  component?: ComponentFunction;
}

/** Stands in for `ref.module` of a component (never sent to a core worker: see `ref`). */
const NO_MODULE = new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));

/** Metered modules smaller than this are compiled synchronously (see `compile`). */
const SYNC_COMPILE_MAX = 256 << 10;

const ROUTE_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

/** Validates a chain declaration (API, chains file or manifest) and returns it without extra keys. */
function checkChain(route: string, spec: ChainSpec): ChainSpec {
  if (!ROUTE_RE.test(route)) throw new RoamError('E_CHAIN', `chain route must match ${ROUTE_RE}`);
  if (!Array.isArray(spec.steps) || spec.steps.length === 0 || spec.steps.some((s) => typeof s !== 'string')) throw new RoamError('E_CHAIN', 'a chain needs "steps": a non-empty array of function names');
  if (spec.also !== undefined && (!Array.isArray(spec.also) || spec.also.some((s) => typeof s !== 'string'))) throw new RoamError('E_CHAIN', '"also" must be an array of function names');
  if (spec.hops !== undefined && spec.hops !== 'shm' && spec.hops !== 'http') throw new RoamError('E_CHAIN', '"hops" must be "shm" or "http"');
  for (const s of [...spec.steps, ...(spec.also ?? [])]) if (isRemote(s)) checkRemote(s);
  return { steps: spec.steps, ...(spec.also?.length ? { also: spec.also } : {}), ...(spec.hops ? { hops: spec.hops } : {}) };
}

export class Registry {
  private readonly bundles = new Map<string, DeployedBundle>();
  /** function name → bundle name */
  private readonly functions = new Map<string, string>();
  private readonly chains = new Map<string, ChainSpec>();
  /** Routes declared in a bundle's manifest → that bundle (they live and go with it). */
  private readonly chainOwner = new Map<string, string>();
  /** Bumped on every change of bundles or chains: cached run plans older than this are rebuilt. */
  generation = 0;
  /** Compiled, metered modules by code key (see `compile`), least recently used first. */
  private readonly compiled = new Map<string, WebAssembly.Module>();

  constructor(
    private readonly engine: Engine,
    private readonly tenants: TenantTable,
    private readonly state: StateStore | null,
    /** Worker threads, each holding an instance: memory a bundle reserves = pages × 64 KiB × threads. */
    private readonly threads: number,
    /** Per-call time limit for component functions (their worker is terminated past it). */
    private readonly componentTimeLimitMs = 10_000,
  ) {}

  /** Loads what the state directory holds (a bundle that no longer verifies is skipped and reported). */
  async restore(onSkip: (name: string, err: Error) => void): Promise<void> {
    if (!this.state) return;
    const snap = this.state.snapshot;
    for (const [name, bytes] of this.state.storedBundles()) {
      try {
        await this.install(name, bytes, null, false);
      } catch (e) {
        onSkip(name, e as Error);
      }
    }
    for (const [route, spec] of Object.entries(snap.chains)) if (!this.chainOwner.has(route)) this.chains.set(route, spec);
  }

  /**
   * Verifies, meters and compiles `bytes` as bundle `name`. `asTenant` (null = admin) must own the
   * bundle. Persists before it swaps the new version in, so a crash keeps the old one.
   */
  async deploy(name: string, bytes: Uint8Array, asTenant: string | null): Promise<DeployedBundle> {
    // One deploy at a time: each checks against, and switches, the state the previous one left.
    const run = this.deploying.then(() => this.install(name, bytes, asTenant, true));
    this.deploying = run.catch(() => {});
    return run;
  }
  private deploying: Promise<unknown> = Promise.resolve();

  private async install(name: string, bytes: Uint8Array, asTenant: string | null, persist: boolean): Promise<DeployedBundle> {
    const comp = isComponent(bytes) ? verifyComponent(bytes) : null;
    const verified = comp ? null : verifyBundle(bytes, this.engine.capabilities, this.engine.limits);
    const m = comp ? comp.manifest : verified!.manifest;
    const hash = comp ? comp.hash : verified!.hash;
    if (m.name !== name) throw new RoamError('E_NAME', `bundle is named '${m.name}' in its manifest, not '${name}'`);
    if (asTenant !== null && m.tenant !== asTenant) throw new RoamError('E_FORBIDDEN', `bundle belongs to tenant '${m.tenant}'; this token is for tenant '${asTenant}'`);
    const old = this.bundles.get(name);
    if (asTenant !== null && old && old.manifest.tenant !== asTenant) throw new RoamError('E_FORBIDDEN', `bundle '${name}' belongs to tenant '${old.manifest.tenant}'`);
    if (m.functions.length === 0) throw new RoamError('E_EXPORT', `bundle '${name}' declares no functions (only message handlers); the gateway serves functions`);
    for (const f of m.functions) {
      const owner = this.functions.get(f.name);
      if (owner && owner !== name) throw new RoamError('E_CONFLICT', `function '${f.name}' is already served by bundle '${owner}'`);
    }
    this.checkMemory(m, old);
    const declared = Object.entries(m.chains ?? {}).map(([route, spec]) => {
      const owner = this.chainOwner.get(route);
      if (owner && owner !== name) throw new RoamError('E_CONFLICT', `chain route '${route}' is declared by bundle '${owner}'`);
      return [route, checkChain(route, spec)] as const;
    });
    // The bytes go to disk under a temporary name (thread pool) while this thread meters and compiles;
    // only when both succeeded is the file renamed over the stored version and the new one switched in,
    // so a crash or a failure before that keeps the old one, on disk and served.
    const staged = persist && this.state ? this.state.stageBundle(name, bytes) : null;
    staged?.catch(() => {}); // awaited below; a compile failure must not leave it unhandled
    let component: ComponentFunction | undefined;
    let module: WebAssembly.Module;
    try {
      component = comp ? await ComponentFunction.deploy(bytes, { timeLimitMs: this.componentTimeLimitMs, maxMemoryPages: this.engine.limits.maxMemoryPages, maxFuel: this.engine.limits.maxFuel }) : undefined;
      module = component ? NO_MODULE : await this.compile(verified!);
    } catch (e) {
      await (await staged?.catch(() => null))?.abort();
      throw e;
    }
    if (staged) {
      try {
        await (await staged).commit();
      } catch (e) {
        if (component) void component.close();
        throw e;
      }
    }
    // Region memory lives here, in SharedArrayBuffers every worker maps, so state is shared across workers
    // and survives a new version of the bundle (same keys). Components get none (see engine/components/README.md).
    const regions: Record<string, SharedArrayBuffer> = {};
    if (!component) for (const r of m.regions) regions[`${m.name}/${r.name}`] = this.engine.regions.buffer(m.name, r) as SharedArrayBuffer;
    const d: DeployedBundle = { name, manifest: m, ref: { hash, module, manifest: m, regions }, size: bytes.length, deployedAt: new Date().toISOString(), ...(component ? { component } : {}) };
    if (old) for (const f of old.manifest.functions) this.functions.delete(f.name);
    if (old?.component && old.component !== component) void old.component.close();
    this.bundles.set(name, d);
    for (const f of m.functions) this.functions.set(f.name, name);
    this.dropOwnedChains(name);
    for (const [route, spec] of declared) {
      // The manifest's declaration takes the route (persisted with the bundle, not in the chain index).
      if (persist && this.state?.snapshot.chains[route]) this.state.removeChain(route);
      this.chains.set(route, spec);
      this.chainOwner.set(route, name);
    }
    this.generation++;
    return d;
  }

  /**
   * Meters and compiles a verified bundle, reusing the result for the same code: a new version that
   * changes only its manifest (the usual redeploy of config, tenant, limits) skips both. The key is the
   * code (every section but the manifest) plus what metering depends on (memory pages, start fuel).
   */
  private async compile(b: Bundle): Promise<WebAssembly.Module> {
    const pages = Math.min(b.manifest.limits.memoryPages, this.engine.limits.maxMemoryPages);
    const fuel = Math.min(b.manifest.limits.fuel, this.engine.limits.maxFuel);
    const h = createHash('sha256').update(`${pages}/${fuel}/`);
    for (const sec of b.module.sections) if (!(sec.id === 0 && sec.name === MANIFEST_SECTION)) h.update(b.bytes.subarray(sec.start, sec.end));
    const key = h.digest('hex');
    let module = this.compiled.get(key);
    if (module) {
      this.compiled.delete(key); // most recently used goes last
    } else {
      const metered = meter(b.module, pages, fuel) as BufferSource;
      // A small module compiles synchronously: with V8's lazy compilation that is mostly validation
      // (~0.5 ms for the hello bundle), where the asynchronous path's hops through background threads
      // cost 0.7–2 ms on the loaded 2-core machine. Large ones still compile off this thread.
      module = metered.byteLength < SYNC_COMPILE_MAX ? new WebAssembly.Module(metered) : await WebAssembly.compile(metered);
      if (this.compiled.size >= 64) this.compiled.delete(this.compiled.keys().next().value!);
    }
    this.compiled.set(key, module);
    return module;
  }

  private checkMemory(m: Manifest, old: DeployedBundle | undefined): void {
    const cap = this.tenants.get(m.tenant).maxMemoryMiB;
    if (!Number.isFinite(cap)) return;
    const mib = (x: Manifest) => (Math.min(x.limits.memoryPages, this.engine.limits.maxMemoryPages) * 64 * this.threads) / 1024;
    let used = mib(m);
    for (const b of this.bundles.values()) if (b !== old && b.manifest.tenant === m.tenant) used += mib(b.manifest);
    if (used > cap) throw new RoamError('E_QUOTA', `tenant '${m.tenant}' would reserve ${used} MiB of linear memory (${this.threads} workers), over its cap of ${cap} MiB`);
  }

  remove(name: string, asTenant: string | null): DeployedBundle {
    const b = this.get(name);
    if (asTenant !== null && b.manifest.tenant !== asTenant) throw new RoamError('E_FORBIDDEN', `bundle '${name}' belongs to tenant '${b.manifest.tenant}'`);
    this.state?.removeBundle(name);
    this.bundles.delete(name);
    for (const f of b.manifest.functions) this.functions.delete(f.name);
    this.dropOwnedChains(name);
    this.generation++;
    void b.component?.close();
    return b;
  }

  get(name: string): DeployedBundle {
    const b = this.bundles.get(name);
    if (!b) throw new RoamError('E_NOT_FOUND', `no bundle named '${name}'`);
    return b;
  }

  list(): DeployedBundle[] {
    return [...this.bundles.values()];
  }

  /** The bundle serving function `fn`, or null. */
  bundleOf(fn: string): DeployedBundle | null {
    const b = this.functions.get(fn);
    return b ? this.bundles.get(b)! : null;
  }

  private dropOwnedChains(bundle: string): void {
    for (const [route, owner] of this.chainOwner) {
      if (owner !== bundle) continue;
      this.chainOwner.delete(route);
      this.chains.delete(route);
    }
  }

  putChain(route: string, spec: ChainSpec): void {
    const owner = this.chainOwner.get(route);
    if (owner) throw new RoamError('E_CONFLICT', `chain route '${route}' is declared by bundle '${owner}'; redeploy that bundle to change it`);
    const clean = checkChain(route, spec);
    this.state?.putChain(route, clean);
    this.chains.set(route, clean);
    this.generation++;
  }

  removeChain(route: string): void {
    const owner = this.chainOwner.get(route);
    if (owner) throw new RoamError('E_CONFLICT', `chain route '${route}' is declared by bundle '${owner}'; remove or redeploy that bundle`);
    if (!this.chains.has(route)) throw new RoamError('E_NOT_FOUND', `no chain route '${route}'`);
    this.state?.removeChain(route);
    this.chains.delete(route);
    this.generation++;
  }

  chain(route: string): ChainSpec | null {
    return this.chains.get(route) ?? null;
  }

  listChains(): Array<[string, ChainSpec]> {
    return [...this.chains];
  }

  /** Resolves every local function a chain may reach to its bundle's hash (remote steps are not resolved
   *  here); throws E_NOT_FOUND naming a missing one. */
  resolveChain(route: string, spec: ChainSpec): Record<string, string> {
    const targets: Record<string, string> = {};
    for (const fn of [...spec.steps, ...(spec.also ?? [])]) {
      if (isRemote(fn)) continue;
      const b = this.bundleOf(fn);
      if (!b) throw new RoamError('E_NOT_FOUND', `chain '${route}' uses function '${fn}', which no deployed bundle serves`);
      if (b.component) throw new RoamError('E_CHAIN', `chain '${route}' uses component function '${fn}'; components cannot be chain steps yet`);
      targets[fn] = b.ref.hash;
    }
    return targets;
  }

  /** A deployed bundle's worker reference by content hash (any name serving it). */
  ref(hash: string): BundleRef | undefined {
    for (const b of this.bundles.values()) if (b.ref.hash === hash && !b.component) return b.ref;
    return undefined;
  }

  /** The tenant a chain runs as: its first step's bundle owner. */
  chainTenant(spec: ChainSpec): string {
    const first = spec.steps.find((s) => !isRemote(s));
    return (first && this.bundleOf(first)?.manifest.tenant) || 'default';
  }
}
