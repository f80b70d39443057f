/**
 * The server's one registry: every deployed bundle — message handlers, functions or both, core module or
 * component — by name (and, for handlers, by wire id through the places' table). Tenant-owned; versions
 * swap atomically; persisted through the state store. HTTP and the wire protocol are two front doors on
 * it. Admission (verify, meter, compile once per code) is engine/admission's, so a refusal is a 400
 * before anything runs.
 */
import { RoamError } from '../errors.ts';
import type { Engine } from '../runtime/engine.ts';
import type { Admitted } from '../admission/admission.ts';
import { checkRemote, isRemote } from '../chains/remote.ts';
import type { Manifest } from '../bundle/manifest.ts';
import type { ChainSpec, StateStore } from '../state/store.ts';
import type { TenantTable } from '../tenancy/tenants.ts';
import type { BundleRef } from '../http/task.ts';
import { ComponentFunction } from '../components/component-function.ts';
import type { WireServer } from './wire-server.ts';
import type { ComponentDeployment } from '../components/message-deployment.ts';

export interface DeployedBundle {
  name: string;
  manifest: Manifest;
  /** For functions: what workers instantiate (a component's module is a stand-in; see NO_MODULE). */
  ref: BundleRef;
  size: number;
  deployedAt: string;
  /** Wire id when the bundle has message handlers (reachable over the binary protocol), else null. */
  wireId: number | null;
  /** Set for a function component: it runs in its own worker (engine/components), not in the executor's pool. */
  component?: ComponentFunction;
}

/** A chain route and the tenant that owns it (null: the admin's or a chains file's). */
export interface OwnedChain {
  spec: ChainSpec;
  tenant: string | null;
}

export interface RegistryOptions {
  engine: Engine;
  tenants: TenantTable;
  state: StateStore | null;
  /** Function worker threads, each holding an instance: memory a bundle reserves = pages × 64 KiB × threads. */
  threads: number;
  /** Per-call time limit for component functions (their worker is terminated past it). */
  componentTimeLimitMs?: number;
  /** The places that run message handlers; without it, a bundle with handlers is refused. */
  wire?: WireServer;
  /** Region memory all tenants together may hold, bytes (default 4 GiB). */
  maxRegionBytes?: number;
}

/** Stands in for `ref.module` of a component (never sent to a core worker: see `ref`). */
const NO_MODULE = new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));

const ROUTE_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
const MIB = 1 << 20;

/** Validates a chain declaration (API, chains file, manifest or state) and returns it without extra keys. */
export function checkChain(route: string, spec: ChainSpec): ChainSpec {
  if (!ROUTE_RE.test(route)) throw new RoamError('E_CHAIN', `chain route must match ${ROUTE_RE}`);
  if (typeof spec !== 'object' || spec === null) throw new RoamError('E_CHAIN', `chain '${route}' must be an object with "steps"`);
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
  private readonly chains = new Map<string, OwnedChain>();
  /** Routes declared in a bundle's manifest → that bundle (they live and go with it). */
  private readonly chainOwner = new Map<string, string>();
  /** Bumped on every change of bundles or chains: cached run plans older than this are rebuilt. */
  generation = 0;
  private readonly engine: Engine;
  private readonly tenants: TenantTable;
  private readonly state: StateStore | null;
  private readonly wire: WireServer | undefined;
  private deploying: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: RegistryOptions) {
    this.engine = opts.engine;
    this.tenants = opts.tenants;
    this.state = opts.state;
    this.wire = opts.wire;
  }

  /** Loads what the state directory holds. One rule: every stored item is validated again; a bad one is
   *  skipped with one warning naming it, and the rest load. */
  async restore(onSkip: (what: string, err: Error) => void): Promise<void> {
    if (!this.state) return;
    for (const s of this.state.skipped) onSkip(s.file, new Error(s.reason));
    for (const [name, bytes] of this.state.storedBundles()) {
      try {
        await this.install(name, bytes, null, false);
      } catch (e) {
        onSkip(`bundle '${name}'`, e as Error);
      }
    }
    for (const [route, stored] of Object.entries(this.state.snapshot.chains)) {
      if (this.chainOwner.has(route)) continue;
      try {
        const tenant = typeof stored.tenant === 'string' ? stored.tenant : null;
        this.chains.set(route, { spec: checkChain(route, stored), tenant });
      } catch (e) {
        onSkip(`chain '${route}'`, e as Error);
      }
    }
  }

  /**
   * Verifies, meters and compiles `bytes` as bundle `name`. `asTenant` (null = admin) must own the
   * bundle; `name` null takes the manifest's. Everything that can fail runs first (compile, a component's
   * worker start, region memory, a wire id); then the state file is committed; then the new version is
   * swapped in, synchronously. So a failure, or a crash, before the commit keeps the old version stored and
   * served, and after it nothing is left to fail.
   */
  async deploy(name: string | null, bytes: Uint8Array, asTenant: string | null, persist = true): Promise<DeployedBundle> {
    // One deploy at a time: each checks against, and switches, the state the previous one left.
    const run = this.deploying.then(() => this.install(name, bytes, asTenant, persist));
    this.deploying = run.catch(() => {});
    return run;
  }

  private async install(wanted: string | null, bytes: Uint8Array, asTenant: string | null, persist: boolean): Promise<DeployedBundle> {
    const a = this.engine.admission.check(bytes);
    const m = a.manifest;
    const name = wanted ?? m.name;
    const old = this.bundles.get(name);
    this.checkOwner(name, m, old, asTenant);
    this.checkEntries(name, a);
    this.checkMemory(m, old);
    const declared = Object.entries(m.chains ?? {}).map(([route, spec]) => {
      const owner = this.chainOwner.get(route);
      if (owner && owner !== name) throw new RoamError('E_CONFLICT', `chain route '${route}' is declared by bundle '${owner}'`);
      const other = this.chains.get(route);
      if (!owner && other && other.tenant !== null && other.tenant !== m.tenant) throw new RoamError('E_FORBIDDEN', `chain route '${route}' belongs to tenant '${other.tenant}'`);
      return [route, checkChain(route, spec)] as const;
    });
    // The bytes go to disk under a temporary name (thread pool) while this thread meters and compiles;
    // only when both succeeded is the file renamed over the stored version and the new one switched in,
    // so a crash or a failure before that keeps the old one, on disk and served.
    const staged = persist && this.state ? this.state.stageBundle(name, bytes) : null;
    staged?.catch(() => {}); // awaited below; a compile failure must not leave it unhandled
    let component: ComponentFunction | undefined;
    let module = NO_MODULE;
    let handlerComponent: ComponentDeployment | undefined;
    let regions = {} as Record<string, SharedArrayBuffer>;
    const wire = m.handlers.length > 0 ? this.wire : undefined;
    try {
      if (a.kind === 'component') {
        // A handler component's worker starts here, before the commit: one that fails at start leaves
        // the old version both stored and served.
        if (a.component.kind === 'roam-message') handlerComponent = await wire?.startComponent(bytes);
        else component = await ComponentFunction.deploy(bytes, { timeLimitMs: this.opts.componentTimeLimitMs ?? 10_000, maxMemoryPages: this.engine.limits.maxMemoryPages, maxFuel: this.engine.limits.maxFuel });
      } else {
        if (m.functions.length > 0) module = await this.engine.admission.compile(a.bundle);
        wire?.table.checkRoom(name);
        // Region memory lives in the engine's RegionStore (SharedArrayBuffer or POSIX shm every place and
        // worker maps), keyed by tenant and bundle, so state survives a new version and no other tenant's
        // bundle of the same name sees it. Function components get none (engine/components/README.md).
        regions = this.engine.regions.shared(m) as Record<string, SharedArrayBuffer>;
      }
      if (staged) await (await staged).commit();
    } catch (e) {
      await (await staged?.catch(() => null))?.abort();
      if (component) void component.close();
      if (handlerComponent) void handlerComponent.close();
      if (a.kind === 'core' && (!old || old.manifest.tenant !== m.tenant)) this.engine.regions.free(m); // no serving version owns them
      throw e;
    }
    // The swap, synchronous from here: each door switches at once, the wire's table here, HTTP's maps below.
    const wireId = this.toWire(a, handlerComponent, bytes);
    const d: DeployedBundle = { name, manifest: m, ref: { hash: a.hash, module, manifest: m, regions }, size: bytes.length, deployedAt: new Date().toISOString(), wireId, ...(component ? { component } : {}) };
    if (old) for (const f of old.manifest.functions) this.functions.delete(f.name);
    if (old?.component && old.component !== component) void old.component.close();
    if (old && old.manifest.handlers.length > 0 && m.handlers.length === 0) this.wire?.remove(name, { keepRegions: true }); // its functions keep the state
    if (old && old.manifest.tenant !== m.tenant) this.engine.regions.free(old.manifest); // moved to another tenant: the old owner's state goes
    this.bundles.set(name, d);
    for (const f of m.functions) this.functions.set(f.name, name);
    this.dropOwnedChains(name);
    for (const [route, spec] of declared) {
      // The manifest's declaration takes the route (persisted with the bundle, not in the chain index).
      if (persist && this.state?.snapshot.chains[route]) this.state.removeChain(route);
      this.chains.set(route, { spec, tenant: m.tenant });
      this.chainOwner.set(route, name);
    }
    this.generation++;
    return d;
  }

  /** Deploys the bundle's handlers to the places (a redeploy keeps its wire id); null when it has none. */
  private toWire(a: Admitted, handlerComponent: ComponentDeployment | undefined, bytes: Uint8Array): number | null {
    if (a.manifest.handlers.length === 0 || !this.wire) return null;
    if (handlerComponent) return this.wire.installComponent(handlerComponent, bytes).id;
    if (a.kind !== 'core') return null;
    return this.wire.install(a.bundle).id;
  }

  private checkOwner(name: string, m: Manifest, old: DeployedBundle | undefined, asTenant: string | null): void {
    if (m.name !== name) throw new RoamError('E_NAME', `bundle is named '${m.name}' in its manifest, not '${name}'`);
    if (asTenant !== null && m.tenant !== asTenant) throw new RoamError('E_FORBIDDEN', `bundle belongs to tenant '${m.tenant}'; this token is for tenant '${asTenant}'`);
    if (asTenant !== null && old && old.manifest.tenant !== asTenant) throw new RoamError('E_FORBIDDEN', `bundle '${name}' belongs to tenant '${old.manifest.tenant}'`);
  }

  private checkEntries(name: string, a: Admitted): void {
    const m = a.manifest;
    if (m.functions.length === 0 && m.handlers.length === 0) throw new RoamError('E_EXPORT', `bundle '${name}' declares no functions and no message handlers`);
    // A gateway built without places (in-process, tests) serves a mixed bundle's functions only.
    if (m.functions.length === 0 && !this.wire) throw new RoamError('E_EXPORT', `bundle '${name}' has only message handlers, and this server runs no places for them`);
    for (const f of m.functions) {
      const owner = this.functions.get(f.name);
      if (owner && owner !== name) throw new RoamError('E_CONFLICT', `function '${f.name}' is already served by bundle '${owner}'`);
    }
  }

  /**
   * Linear memory (pages × workers) and region memory count against the tenant's memory cap; region memory
   * of all tenants together against the server's cap. A redeploy counts once (its old version is left out).
   */
  private checkMemory(m: Manifest, old: DeployedBundle | undefined): void {
    const regionBytes = (x: Manifest) => x.regions.reduce((n, r) => n + Math.ceil(r.size / 8) * 8, 0);
    const maxRegion = this.opts.maxRegionBytes ?? 4 * 1024 * MIB;
    let allRegions = regionBytes(m);
    for (const b of this.bundles.values()) if (b !== old) allRegions += regionBytes(b.manifest);
    if (allRegions > maxRegion) throw new RoamError('E_QUOTA', `bundle '${m.name}' would bring region memory to ${(allRegions / MIB).toFixed(1)} MiB, over this server's cap of ${(maxRegion / MIB).toFixed(0)} MiB`);
    const cap = this.tenants.get(m.tenant).maxMemoryMiB;
    if (!Number.isFinite(cap)) return;
    const mib = (x: Manifest) => (Math.min(x.limits.memoryPages, this.engine.limits.maxMemoryPages) * 64 * this.opts.threads) / 1024 + regionBytes(x) / MIB;
    let used = mib(m);
    for (const b of this.bundles.values()) if (b !== old && b.manifest.tenant === m.tenant) used += mib(b.manifest);
    if (used > cap) throw new RoamError('E_QUOTA', `tenant '${m.tenant}' would reserve ${+used.toFixed(2)} MiB (linear memory on ${this.opts.threads} workers and regions), over its cap of ${cap} MiB`);
  }

  remove(name: string, asTenant: string | null): DeployedBundle {
    const b = this.get(name);
    if (asTenant !== null && b.manifest.tenant !== asTenant) throw new RoamError('E_FORBIDDEN', `bundle '${name}' belongs to tenant '${b.manifest.tenant}'`);
    this.state?.removeBundle(name);
    this.bundles.delete(name);
    for (const f of b.manifest.functions) this.functions.delete(f.name);
    this.dropOwnedChains(name);
    this.wire?.remove(name);
    this.engine.regions.free(b.manifest); // a later bundle of this name, of any tenant, starts from zeros
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

  /** Adds or replaces a route. A tenant may replace only its own routes; the admin (null) any. */
  putChain(route: string, spec: ChainSpec, asTenant: string | null = null): void {
    const owner = this.chainOwner.get(route);
    if (owner) throw new RoamError('E_CONFLICT', `chain route '${route}' is declared by bundle '${owner}'; redeploy that bundle to change it`);
    this.checkChainOwner(route, asTenant);
    const clean = checkChain(route, spec);
    const tenant = asTenant ?? this.chains.get(route)?.tenant ?? null;
    this.state?.putChain(route, tenant === null ? clean : { ...clean, tenant });
    this.chains.set(route, { spec: clean, tenant });
    this.generation++;
  }

  removeChain(route: string, asTenant: string | null = null): void {
    const owner = this.chainOwner.get(route);
    if (owner) throw new RoamError('E_CONFLICT', `chain route '${route}' is declared by bundle '${owner}'; remove or redeploy that bundle`);
    if (!this.chains.has(route)) throw new RoamError('E_NOT_FOUND', `no chain route '${route}'`);
    this.checkChainOwner(route, asTenant);
    this.state?.removeChain(route);
    this.chains.delete(route);
    this.generation++;
  }

  private checkChainOwner(route: string, asTenant: string | null): void {
    const c = this.chains.get(route);
    if (asTenant !== null && c && c.tenant !== asTenant) throw new RoamError('E_FORBIDDEN', `chain route '${route}' belongs to ${c.tenant === null ? 'the admin' : `tenant '${c.tenant}'`}`);
  }

  chain(route: string): ChainSpec | null {
    return this.chains.get(route)?.spec ?? null;
  }

  /** Routes visible to `asTenant` (null = admin: all). */
  listChains(asTenant: string | null = null): Array<[string, ChainSpec]> {
    const out: Array<[string, ChainSpec]> = [];
    for (const [route, c] of this.chains) if (asTenant === null || c.tenant === asTenant) out.push([route, c.spec]);
    return out;
  }

  /** The tenant owning a route (null: the admin's), or undefined when there is no such route. */
  chainOwnerTenant(route: string): string | null | undefined {
    return this.chains.get(route)?.tenant;
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
