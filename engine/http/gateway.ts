/**
 * The HTTP gateway: control API (deploy, list, remove bundles and chains; stats), function and chain
 * invocation, Prometheus metrics. Built around a plain `http.Server` so the composed `roam serve` can
 * hand it sockets (`gateway.server.emit('connection', socket)`) next to the binary protocol.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RoamError } from '../errors.ts';
import { Engine } from '../runtime/engine.ts';
import { decodeResponse, type FnResponse } from '../runtime/http-abi.ts';
import { Pool } from 'undici';
import { runChainOverHttp } from '../chains/http-hops.ts';
import { DEFAULT_ENGINE_LIMITS, type EngineLimits } from '../verify/verify.ts';
import { chainFns } from '../chains/runner.ts';
import { isRemote, RemoteHops } from '../chains/remote.ts';
import { StateStore, type ChainSpec } from '../state/store.ts';
import { ChargeModel } from '../tenancy/charge.ts';
import { FairScheduler } from '../tenancy/scheduler.ts';
import { TenantTable } from '../tenancy/tenants.ts';
import { authenticate, type Principal } from './auth.ts';
import { readBody, readRequest } from './body.ts';
import { errorBody, httpStatus } from './errors.ts';
import { Executor } from './executor.ts';
import type { InlineFunctionOptions } from './inline-functions.ts';
import { jsonLogger, type Logger } from './log.ts';
import { GatewayMetrics } from './metrics.ts';
import { gpuStatsForServer, registerGpuMetrics } from '../gpu/metrics.ts';
import type { Descriptor, PayloadPool } from '../chains/payload-pool.ts';
import { Registry, type DeployedBundle } from '../server/registry.ts';
import { Authenticator } from '../tenancy/auth.ts';
import type { WireServer } from '../places/server.ts';
import type { PlanDef, RunResult } from './task.ts';

export interface GatewayOptions {
  /** Admin bearer token for the control API; null leaves it open (explicit opt-in only). */
  token: string | null;
  /** Directory for persistent state; omitted = in memory only. */
  stateDir?: string;
  tenants?: TenantTable;
  /** Function worker threads (default: available cores). */
  threads?: number;
  /** Largest request body for invocations (default 1 MiB). */
  maxBodyBytes?: number;
  /** Largest bundle upload (default 16 MiB). */
  maxBundleBytes?: number;
  /** Watchdog per run (default 10 s). */
  timeoutMs?: number;
  maxHops?: number;
  limits?: Partial<EngineLimits>;
  logger?: Logger;
  /** This gateway's own base URL, for chains declared with `"hops": "http"` (set by `listen`). */
  selfUrl?: string;
  /** The places running message handlers (the wire front door shares the registry and its regions). */
  wire?: WireServer;
  /** Token checks shared with the wire front door (default: from `token` and `tenants`). */
  auth?: Authenticator;
  /** Region memory all tenants together may hold, bytes (default 4 GiB). */
  maxRegionBytes?: number;
  /** Tiny functions on the network thread (engine/http/inline-functions.ts); false: always on workers. */
  inline?: InlineFunctionOptions | false;
}

export interface Gateway {
  readonly server: Server;
  readonly registry: Registry;
  readonly executor: Executor;
  readonly scheduler: FairScheduler;
  readonly metrics: GatewayMetrics;
  /** How many workers hold function `fn`'s current version instantiated and ready (warmed at deploy). */
  warmed(fn: string): number;
  /** Listens (port 0 = any); resolves with the base URL. */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

const JSON_TYPE = { 'content-type': 'application/json' };
/** Headers a function may not set: the gateway frames the response itself. */
const HOP_BY_HOP = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  const limits = { ...DEFAULT_ENGINE_LIMITS, ...opts.limits };
  const tenants = opts.tenants ?? new TenantTable();
  const log = opts.logger ?? jsonLogger();
  const maxBody = opts.maxBodyBytes ?? 1 << 20;
  const maxBundle = opts.maxBundleBytes ?? 16 << 20;
  const maxHops = opts.maxHops ?? 64;
  // One pool of host workers: the places' (when this server runs handlers too) runs functions as well.
  const executor = new Executor({ limits, ...(opts.wire ? { host: opts.wire.host } : {}), ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.inline !== undefined ? { inline: opts.inline } : {}) });
  const scheduler = new FairScheduler(executor.threads * 2, tenants);
  /** What a run costs its tenant: its hops' guest time, OS pauses cut off (tenancy/charge.ts). */
  const charges = new ChargeModel();
  const metrics = new GatewayMetrics(() => Object.fromEntries(Object.entries(scheduler.stats()).map(([t, s]) => [t, s.queued])));
  registerGpuMetrics(metrics.registry); // gpu hook: the process's shared gpu service (engine/gpu/metrics.ts)
  const state = opts.stateDir ? new StateStore(opts.stateDir) : null;
  const auth = opts.auth ?? new Authenticator(opts.token, tenants);
  const engine = new Engine({ limits, ...(opts.wire ? { regions: opts.wire.table.regions } : {}) });
  const registry = new Registry({ engine, tenants, state, threads: executor.threads, componentTimeLimitMs: opts.timeoutMs ?? 10_000, ...(opts.wire ? { wire: opts.wire } : {}), ...(opts.maxRegionBytes ? { maxRegionBytes: opts.maxRegionBytes } : {}) });
  await registry.restore((what, err) => log('warn', 'skipped a stored item that does not load', { item: what, reason: err.message }));
  let closing = false;
  let selfUrl = opts.selfUrl ?? null;
  let selfPool: Pool | null = null;
  const self = () => {
    if (!selfUrl) throw new RoamError('E_CHAIN', 'chains with "hops": "http" need the gateway to know its own URL (listen, or the selfUrl option)');
    return (selfPool ??= new Pool(selfUrl, { connections: 64, pipelining: 1 }));
  };
  const perBundle = new Map<string, { calls: number; errors: number; fuel: number }>();
  const remoteHops = new RemoteHops(opts.timeoutMs ?? 10_000);
  /** A hop log with one more hop (a remote step, timed here). */
  const appendHop = (log: Float64Array, fn: number, ms: number, ok: boolean) => {
    const out = new Float64Array(log.length + 4);
    out.set(log);
    out.set([fn, 0, ms, ok ? 1 : 0], log.length);
    return out;
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...JSON_TYPE, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const fail = (res: ServerResponse, e: unknown, extra: Record<string, unknown> = {}) => {
    const body = { ...errorBody(e), ...extra };
    const status = httpStatus(body.error);
    if (status >= 500) log('error', 'request failed', body as unknown as Record<string, unknown>);
    if (status === 413) res.setHeader('connection', 'close');
    send(res, status, body);
  };

  const bundleInfo = (b: DeployedBundle) => ({
    name: b.name,
    version: b.manifest.version,
    tenant: b.manifest.tenant,
    hash: b.ref.hash,
    size: b.size,
    functions: b.manifest.functions.map((f) => f.name),
    handlers: b.manifest.handlers.map((h) => h.name),
    ...(b.wireId !== null ? { wireId: b.wireId } : {}),
    places: placesOf(b),
    deployedAt: b.deployedAt,
    // components hook (engine/components): fuel-metered or watchdog-only, and why
    ...(b.component ? { timeLimit: b.component.timeLimit } : {}),
  });
  /** Where a bundle's entry points run: handlers at the places (and the client's), functions on the host. */
  const placesOf = (b: DeployedBundle): string[] => {
    const out: string[] = [];
    if (b.wireId !== null) out.push('host', ...(opts.wire?.dpu ? ['dpu'] : []), 'client');
    if (b.manifest.functions.length > 0 && !out.includes('host')) out.push('host');
    return out;
  };
  const own = (p: Principal, b: DeployedBundle) => {
    if (p.tenant !== null && b.manifest.tenant !== p.tenant) throw new RoamError('E_FORBIDDEN', `bundle '${b.name}' belongs to tenant '${b.manifest.tenant}'`);
  };

  async function control(req: IncomingMessage, res: ServerResponse, parts: string[]): Promise<void> {
    const p = authenticate(req, auth);
    const [, , kind, name] = parts; // '', 'v1', kind, name
    const m = req.method;
    if (kind === 'bundles' && name === undefined && m === 'GET') {
      return send(res, 200, { bundles: registry.list().filter((b) => p.tenant === null || b.manifest.tenant === p.tenant).map(bundleInfo) });
    }
    if (kind === 'bundles' && name !== undefined && parts.length === 4) {
      if (m === 'PUT') {
        const bytes = await readBody(req, maxBundle);
        const t0 = performance.now();
        const b = await registry.deploy(decodeURIComponent(name), bytes, p.tenant);
        warm([b]);
        log('info', 'deployed', { bundle: b.name, version: b.manifest.version, tenant: b.manifest.tenant, hash: b.ref.hash, ms: +(performance.now() - t0).toFixed(2) });
        return send(res, 201, bundleInfo(b));
      }
      const b = registry.get(decodeURIComponent(name));
      own(p, b);
      if (m === 'GET') return send(res, 200, { ...bundleInfo(b), manifest: b.manifest, stats: perBundle.get(b.name) ?? { calls: 0, errors: 0, fuel: 0 } });
      if (m === 'DELETE') {
        registry.remove(b.name, p.tenant);
        log('info', 'removed', { bundle: b.name });
        return send(res, 200, { removed: b.name });
      }
    }
    if (kind === 'chains' && name === undefined && m === 'GET') return send(res, 200, { chains: Object.fromEntries(registry.listChains(p.tenant)) });
    if (kind === 'chains' && name !== undefined && parts.length === 4) {
      const route = decodeURIComponent(name);
      if (m === 'PUT') {
        let spec: ChainSpec;
        try {
          spec = JSON.parse((await readBody(req, 64 * 1024)).toString('utf8')) as ChainSpec;
        } catch (e) {
          throw e instanceof RoamError ? e : new RoamError('E_CHAIN', `chain spec is not JSON: ${(e as Error).message}`);
        }
        if (p.tenant !== null) for (const fn of [...(spec.steps ?? []), ...(spec.also ?? [])]) {
          const b = registry.bundleOf(fn);
          if (b) own(p, b);
        }
        registry.putChain(route, spec, p.tenant);
        return send(res, 201, { route, ...registry.chain(route) });
      }
      const c = registry.chain(route);
      // Another tenant's route looks like none at all.
      if (!c || (p.tenant !== null && registry.chainOwnerTenant(route) !== p.tenant)) throw new RoamError('E_NOT_FOUND', `no chain route '${route}'`);
      if (m === 'GET') return send(res, 200, { route, ...c });
      if (m === 'DELETE') {
        registry.removeChain(route, p.tenant);
        return send(res, 200, { removed: route });
      }
    }
    if (kind === 'stats' && m === 'GET') {
      return send(res, 200, {
        workers: executor.threads,
        timeouts: executor.timeouts,
        payloadPool: { slots: executor.pool.slots, slotSize: executor.pool.slotSize, used: executor.pool.used() },
        tenants: scheduler.stats(),
        // Region memory held for this caller's bundles (the admin: all tenants'), counted against quotas.
        regions: { bytes: engine.regions.bytes(p.tenant ?? undefined) },
        bundles: Object.fromEntries(registry.list().filter((b) => p.tenant === null || b.manifest.tenant === p.tenant).map((b) => [b.name, perBundle.get(b.name) ?? { calls: 0, errors: 0, fuel: 0 }])),
        gpu: await gpuStatsForServer(p.tenant), // gpu hook: fairness and utilisation per function (engine/gpu/metrics.ts)
      });
    }
    throw new RoamError(parts.length > 4 || !['bundles', 'chains', 'stats'].includes(kind ?? '') ? 'E_NOT_FOUND' : 'E_METHOD', `no control route ${m} ${req.url}`);
  }

  interface CachedPlan {
    gen: number;
    def: PlanDef;
    /** Function names by hop-log index, and their bundle's counters. */
    fns: string[];
    stats: Array<{ calls: number; errors: number; fuel: number }>;
    tenant: string;
    http: boolean;
  }
  /** Run plans by `fn:NAME` / `chain:ROUTE`, rebuilt when the registry changes; workers cache them by id. */
  const plans = new Map<string, CachedPlan>();
  let planIds = 0;
  const statsOf = (bundle: string) => {
    let s = perBundle.get(bundle);
    if (!s) perBundle.set(bundle, (s = { calls: 0, errors: 0, fuel: 0 }));
    return s;
  };
  function planFor(kind: 'fn' | 'chain', name: string): CachedPlan {
    const key = `${kind}:${name}`;
    const cached = plans.get(key);
    if (cached && cached.gen === registry.generation) return cached;
    let steps: string[];
    let targets: Record<string, string>;
    let tenant: string;
    let http = false;
    let remote: string[] = [];
    if (kind === 'fn') {
      const b = registry.bundleOf(name)!;
      steps = [name];
      targets = { [name]: b.ref.hash };
      tenant = b.manifest.tenant;
    } else {
      const spec = registry.chain(name)!;
      steps = spec.steps;
      targets = registry.resolveChain(name, spec);
      tenant = registry.chainTenant(spec);
      http = spec.hops === 'http';
      remote = [...new Set([...spec.steps, ...(spec.also ?? [])].filter(isRemote))];
    }
    const fns = chainFns(steps, [...Object.keys(targets), ...remote]);
    const stats = fns.map((f) => (isRemote(f) ? { calls: 0, errors: 0, fuel: 0 } : statsOf(registry.bundleOf(f)!.name)));
    const p: CachedPlan = { gen: registry.generation, def: { id: ++planIds, route: kind === 'fn' ? null : name, steps, targets, remote, maxHops }, fns, stats, tenant, http };
    plans.set(key, p);
    return p;
  }

  /** Gives every worker the plans of these bundles' functions and manifest chains, to instantiate now. */
  function warm(bs: DeployedBundle[]): void {
    const defs: PlanDef[] = [];
    for (const b of bs) {
      if (b.component) continue;
      for (const f of b.manifest.functions) if (registry.bundleOf(f.name) === b) defs.push(planFor('fn', f.name).def);
      for (const route of Object.keys(b.manifest.chains ?? {})) {
        try {
          if (registry.chain(route)?.hops !== 'http') defs.push(planFor('chain', route).def);
        } catch {
          // a chain whose other steps are not deployed yet: planned at its first call
        }
      }
    }
    executor.warm(defs, (h) => registry.ref(h));
  }

  /** Invokes a function or a chain; writes the function's response. */
  async function invoke(req: IncomingMessage, res: ServerResponse, kind: 'fn' | 'chain', name: string, rest: string): Promise<void> {
    const t0 = performance.now();
    if (kind === 'fn') {
      const b = registry.bundleOf(name);
      if (!b) throw new RoamError('E_NOT_FOUND', `no function '${name}'`);
      if (b.component) return invokeComponent(req, res, b, name, rest, t0);
    } else if (!registry.chain(name)) throw new RoamError('E_NOT_FOUND', `no chain route '${name}'`);
    const plan = planFor(kind, name);
    const tenant = plan.tenant;
    if (plan.http) {
      const body = await readBody(req, maxBody);
      const { res: fr } = await runChainOverHttp({ route: name, steps: plan.def.steps, reachable: new Set(plan.fns), maxHops }, { method: req.method ?? 'GET', path: rest, headers: forwardHeaders(req) }, body, self());
      writeFnResponse(res, fr);
      metrics.recordRequest(kind, name, fr.status, (performance.now() - t0) / 1000);
      return;
    }
    // The request is written once, straight into the shared payload pool (or shared memory when large).
    const input = await readRequest(req, executor.pool, req.method ?? 'GET', rest, maxBody);
    const d = input instanceof Uint8Array ? null : input;
    const pool = executor.pool;
    let r: RunResult;
    try {
      r = await scheduler.submit(tenant, metrics.cost(plan.def.steps), () => executor.run(plan.def, input, (h) => registry.ref(h)), (r) => charges.bill(plan.fns, r.hops));
    } catch (e) {
      if (d) pool.free(d);
      throw e;
    }
    if (!r.ok && (r.code === 'E_TIMEOUT' || r.code === 'E_WORKER' || r.code === 'E_NOT_FOUND') && d) pool.free(d); // no worker got to free it
    // A remote step: the payload leaves this process here, and the chain goes on with the answer.
    while (r.ok && 'remote' in r) {
      const s = r.remote;
      const at = performance.now();
      let reply: Uint8Array;
      try {
        reply = await remoteHops.call(s.fn, s.request);
      } catch (e) {
        const hops = appendHop(s.hops, plan.fns.indexOf(s.fn), performance.now() - at, false);
        r = { ok: false, code: 'E_REMOTE', message: (e as Error).message, fn: s.fn, appStatus: null, hops };
        break;
      }
      const resume = { fn: s.fn, stack: s.stack, pos: s.pos, head: s.head, hops: appendHop(s.hops, plan.fns.indexOf(s.fn), performance.now() - at, true), reply };
      r = await scheduler.submit(tenant, metrics.cost(plan.def.steps), () => executor.run(plan.def, null, (h) => registry.ref(h), resume));
    }
    metrics.recordHops(tenant, plan.fns, r.hops, r.ok ? null : r.code);
    if (r.hops) {
      for (let i = 0; i < r.hops.length; i += 4) {
        const s = plan.stats[r.hops[i]!]!;
        s.calls++;
        s.fuel += r.hops[i + 1]!;
        if (r.hops[i + 3] === 0) s.errors++;
      }
    }
    if (!r.ok) {
      if (!r.hops?.length) metrics.recordFailure(r.fn, tenant, r.code);
      const status = httpStatus(r.code, r.appStatus);
      const out = { error: r.code, message: r.message, function: r.fn };
      if (status >= 500 && !closing) log('error', 'function failed', { kind, name, ...out });
      send(res, status, out);
      metrics.recordRequest(kind, name, status, (performance.now() - t0) / 1000);
      return;
    }
    if (!('output' in r)) throw new RoamError('E_INTERNAL', 'run ended without output');
    let status = 500;
    if (r.output instanceof Uint8Array) status = writeFnResponse(res, decodeResponse(r.output));
    else {
      // The body goes to the socket from the pool slot itself; the slot is freed once the response is done.
      const out = r.output;
      const free = freeOnce(pool, out);
      res.once('close', free);
      try {
        status = writeFnResponse(res, decodeResponse(pool.view(out)));
      } catch (e) {
        free();
        throw e;
      }
    }
    metrics.recordRequest(kind, name, status, (performance.now() - t0) / 1000);
  }

  async function invokeComponent(req: IncomingMessage, res: ServerResponse, b: DeployedBundle, name: string, rest: string, t0: number): Promise<void> {
    // A component runs in its own worker (engine/components), under the same fair scheduler.
    const fn = b.component!;
    const request = { method: req.method ?? 'GET', path: rest, headers: forwardHeaders(req), body: await readBody(req, maxBody) };
    const s = statsOf(b.name);
    s.calls++;
    let status = 500;
    try {
      status = writeFnResponse(res, await scheduler.submit(b.manifest.tenant, metrics.cost([name]), () => fn.call(request)));
    } catch (e) {
      s.errors++;
      status = httpStatus(errorBody(e).error);
      throw e; // answered by handle() as { error, message } with that status
    } finally {
      metrics.recordRequest('fn', name, status, (performance.now() - t0) / 1000);
    }
  }

  function forwardHeaders(req: IncomingMessage): Array<[string, string]> {
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const n = req.rawHeaders[i]!.toLowerCase();
      if (n !== 'authorization' && n !== 'host' && n !== 'connection') headers.push([n, req.rawHeaders[i + 1]!]);
    }
    return headers;
  }

  function writeFnResponse(res: ServerResponse, fr: FnResponse): number {
    const status = fr.status >= 100 && fr.status <= 599 ? fr.status : 500;
    const out: Record<string, string> = {};
    for (const [n, v] of fr.headers) if (!HOP_BY_HOP.has(n.toLowerCase())) out[n] = v;
    out['content-length'] = String(fr.body.length);
    res.writeHead(status, out);
    res.end(fr.body);
    return status;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const parts = path.split('/');
    try {
      if (parts[1] === 'fn' || parts[1] === 'chain') {
        const name = decodeURIComponent(parts[2] ?? '');
        if (!name) throw new RoamError('E_NOT_FOUND', `no ${parts[1]} name in ${path}`);
        const restStart = 1 + parts[1].length + 1 + (parts[2] ?? '').length;
        const rest = url.slice(restStart) || '/';
        return await invoke(req, res, parts[1], name, rest.startsWith('/') ? rest : '/' + rest);
      }
      if (parts[1] === 'v1') return await control(req, res, parts);
      if (path === '/metrics' && req.method === 'GET') {
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        return void res.end(text);
      }
      if (path === '/healthz') return send(res, 200, { ok: true });
      throw new RoamError('E_NOT_FOUND', `no route ${req.method} ${path}`);
    } catch (e) {
      if (!res.headersSent) fail(res, e);
      else res.destroy();
    }
  }

  warm(registry.list()); // restored bundles (workers still starting may miss it: their first run carries them)
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => void handle(req, res));
  return {
    server,
    registry,
    executor,
    scheduler,
    metrics,
    warmed: (fn: string) => (registry.bundleOf(fn) ? executor.warmedBy(planFor('fn', fn).def.id) : 0),
    listen(port: number, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          // After listening, a server-level error (accept failing on EMFILE, say) is logged, never fatal.
          server.on('error', (e) => log('error', 'listener error', { message: e.message }));
          const a = server.address() as AddressInfo;
          const u = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
          selfUrl ??= u;
          resolve(u);
        });
      });
    },
    async close() {
      closing = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await selfPool?.destroy();
      await remoteHops.close();
      await executor.close();
      await Promise.all(registry.list().map((b) => b.component?.close())); // component workers
    },
  };
}

/** Frees a pool slot at most once (an anonymous closure: a named one per request would cost tsx's __name, engine/README.md). */
function freeOnce(pool: PayloadPool, out: Descriptor): () => void {
  let freed = false;
  return () => {
    if (!freed) pool.free(out);
    freed = true;
  };
}
