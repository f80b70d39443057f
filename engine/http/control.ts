/**
 * The control API under /v1: bundles (deploy, list, describe, remove), chains, stats, and each
 * capability's run-time configuration of a bundle. Every route authenticates; a tenant's token reaches
 * only what the tenant owns.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RoamError } from '../errors.ts';
import type { Engine } from '../runtime/engine.ts';
import type { ChainSpec } from '../state/store.ts';
import type { Authenticator } from '../tenancy/auth.ts';
import type { FairScheduler } from '../tenancy/scheduler.ts';
import type { DeployedBundle, Registry } from '../server/registry.ts';
import { authenticate, type Principal } from './auth.ts';
import { readBody } from './body.ts';
import type { Executor } from './executor.ts';
import type { Logger } from './log.ts';
import type { Plans } from './plans.ts';
import { sendJson } from './respond.ts';
import { decodeSegment } from './path.ts';
import { isRemote } from '../chains/remote.ts';
import type { RemoteAllow } from '../chains/remote-allow.ts';
import type { ClientReports } from '../server/client-reports.ts';
import { quantileMs } from '../places/latency.ts';
import type { RdmaHost } from '../rdma/host.ts';

/** Largest body of a capability's control request (each capability bounds its own further). */
const CONTROL_BODY_LIMIT = 64 * 1024;
/** Largest chain spec. */
const CHAIN_BODY_LIMIT = 64 * 1024;

export interface ControlOptions {
  registry: Registry;
  plans: Plans;
  auth: Authenticator;
  engine: Engine;
  executor: Executor;
  scheduler: FairScheduler;
  log: Logger;
  maxBundle: number;
  /** The hosts remote chain steps may reach (engine/chains/remote-allow.ts). */
  remoteAllow: RemoteAllow;
  /** A DPU agent runs handlers too (reported among a bundle's places). */
  dpu: boolean;
  /** What connected clients' client places reported (the wire server's), for `clientPlace` in /v1/stats. */
  clients?: ClientReports;
  /** `roam serve --rdma`: which UCX transports are in use (`/v1/stats` rdma), or null. */
  rdma?: RdmaHost | null;
}

export class ControlApi {
  constructor(private readonly o: ControlOptions) {}

  async handle(req: IncomingMessage, res: ServerResponse, parts: string[]): Promise<void> {
    const p = authenticate(req, this.o.auth);
    const [, , kind, name] = parts; // '', 'v1', kind, name
    if (kind === 'bundles') return this.bundles(req, res, p, name, parts.length);
    if (kind === 'chains') return this.chains(req, res, p, name, parts.length);
    if (kind === 'stats' && name === undefined && req.method === 'GET') return sendJson(res, 200, await this.stats(p));
    // A capability's run-time configuration of one bundle (e.g. PUT /v1/gpu/NAME: its gpu quota). Admin or the bundle's tenant.
    const cap = kind === undefined ? undefined : this.o.engine.capabilities.get(kind);
    if (cap?.control && name !== undefined && parts.length === 4 && req.method === 'PUT') {
      const b = this.owned(p, name);
      const out = await cap.control(b.manifest, await readBody(req, CONTROL_BODY_LIMIT));
      this.o.log('info', `${cap.name} control`, { bundle: b.name, ...(out as Record<string, unknown>) });
      return sendJson(res, 200, out);
    }
    throw noRoute(req, parts.length <= 4 && (kind === 'stats' || cap?.control !== undefined));
  }

  private async bundles(req: IncomingMessage, res: ServerResponse, p: Principal, name: string | undefined, depth: number): Promise<void> {
    const { registry, log } = this.o;
    const m = req.method;
    if (name === undefined && m === 'GET') return sendJson(res, 200, { bundles: registry.list().filter((b) => visible(p, b)).map((b) => this.info(b)) });
    if (name !== undefined && depth === 4) {
      if (m === 'PUT') {
        const bytes = await readBody(req, this.o.maxBundle);
        const t0 = performance.now();
        const b = await registry.deploy(decodeSegment(name, 'bundle name'), bytes, p.tenant);
        this.o.plans.warm([b]);
        log('info', 'deployed', { bundle: b.name, version: b.manifest.version, tenant: b.manifest.tenant, hash: b.ref.hash, ms: +(performance.now() - t0).toFixed(2) });
        return sendJson(res, 201, this.info(b));
      }
      const b = this.owned(p, name);
      if (m === 'GET') return sendJson(res, 200, { ...this.info(b), manifest: b.manifest, stats: this.o.plans.perBundle.get(b.name) ?? { calls: 0, errors: 0, fuel: 0 } });
      if (m === 'DELETE') {
        registry.remove(b.name, p.tenant);
        log('info', 'removed', { bundle: b.name });
        return sendJson(res, 200, { removed: b.name });
      }
    }
    throw noRoute(req, depth <= 4);
  }

  private async chains(req: IncomingMessage, res: ServerResponse, p: Principal, name: string | undefined, depth: number): Promise<void> {
    const { registry } = this.o;
    const m = req.method;
    if (name === undefined && m === 'GET') return sendJson(res, 200, { chains: Object.fromEntries(registry.listChains(p.tenant)) });
    if (name !== undefined && depth === 4) {
      const route = decodeSegment(name, 'chain route');
      if (m === 'PUT') {
        let spec: ChainSpec;
        try {
          spec = JSON.parse((await readBody(req, CHAIN_BODY_LIMIT)).toString('utf8')) as ChainSpec;
        } catch (e) {
          throw e instanceof RoamError ? e : new RoamError('E_CHAIN', `chain spec is not JSON: ${(e as Error).message}`);
        }
        // A remote step the operator has not allowed is refused here, by name (issue 19), and again at every hop.
        for (const s of [...(Array.isArray(spec.steps) ? spec.steps : []), ...(Array.isArray(spec.also) ? spec.also : [])]) if (typeof s === 'string' && isRemote(s)) this.o.remoteAllow.check(s);
        // A tenant may chain only its own functions.
        if (p.tenant !== null) for (const fn of [...(spec.steps ?? []), ...(spec.also ?? [])]) {
          const b = registry.bundleOf(fn);
          if (b) own(p, b);
        }
        registry.putChain(route, spec, p.tenant);
        return sendJson(res, 201, { route, ...registry.chain(route) });
      }
      const c = registry.chain(route);
      // Another tenant's route looks like none at all.
      if (!c || (p.tenant !== null && registry.chainOwnerTenant(route) !== p.tenant)) throw new RoamError('E_NOT_FOUND', `no chain route '${route}'`);
      if (m === 'GET') return sendJson(res, 200, { route, ...c });
      if (m === 'DELETE') {
        registry.removeChain(route, p.tenant);
        return sendJson(res, 200, { removed: route });
      }
    }
    throw noRoute(req, depth <= 4);
  }

  private async stats(p: Principal): Promise<Record<string, unknown>> {
    const { executor, registry, engine } = this.o;
    const out: Record<string, unknown> = {
      workers: executor.threads,
      timeouts: executor.timeouts,
      // Function runs answered on the network thread itself (inline-functions.ts), all tenants'.
      inlineRuns: executor.inline?.runs ?? 0,
      payloadPool: { slots: executor.pool.slots, slotSize: executor.pool.slotSize, used: executor.pool.used() },
      tenants: this.o.scheduler.stats(),
      // Region memory held for this caller's bundles (the admin: all tenants'), counted against quotas.
      regions: { bytes: engine.regions.bytes(p.tenant ?? undefined) },
      bundles: Object.fromEntries(registry.list().filter((b) => visible(p, b)).map((b) => [b.name, this.o.plans.perBundle.get(b.name) ?? { calls: 0, errors: 0, fuel: 0 }])),
    };
    if (this.o.clients) out.clientPlace = clientPlaceStats(this.o.clients, p.tenant);
    out.rdma = rdmaStats(this.o.rdma ?? null, p);
    // Each capability that reports adds its part under its name (null before its first use).
    for (const c of engine.capabilities.values()) if (c.stats) out[c.name] = await c.stats(p.tenant);
    return out;
  }

  /** What the API says of a deployed bundle. */
  private info(b: DeployedBundle) {
    return {
      name: b.name,
      version: b.manifest.version,
      tenant: b.manifest.tenant,
      hash: b.ref.hash,
      size: b.size,
      functions: b.manifest.functions.map((f) => f.name),
      handlers: b.manifest.handlers.map((h) => h.name),
      ...(b.wireId !== null ? { wireId: b.wireId } : {}),
      places: this.placesOf(b),
      deployedAt: b.deployedAt,
      // components: fuel-metered or watchdog-only, and why
      ...(b.component ? { timeLimit: b.component.timeLimit } : {}),
    };
  }

  /** Where a bundle's entry points run: handlers at the places (and the client's), functions on the host. */
  private placesOf(b: DeployedBundle): string[] {
    const out: string[] = [];
    if (b.wireId !== null) out.push('host', ...(this.o.dpu ? ['dpu'] : []), 'client');
    if (b.manifest.functions.length > 0 && !out.includes('host')) out.push('host');
    return out;
  }

  private owned(p: Principal, name: string): DeployedBundle {
    const b = this.o.registry.get(decodeSegment(name, 'bundle name'));
    own(p, b);
    return b;
  }

}

/** E_METHOD for a route that exists with other methods, E_NOT_FOUND otherwise. */
function noRoute(req: IncomingMessage, known: boolean): RoamError {
  return new RoamError(known ? 'E_METHOD' : 'E_NOT_FOUND', `no control route ${req.method} ${req.url}`);
}

const visible = (p: Principal, b: DeployedBundle) => p.tenant === null || b.manifest.tenant === p.tenant;

function own(p: Principal, b: DeployedBundle): void {
  if (p.tenant !== null && b.manifest.tenant !== p.tenant) throw new RoamError('E_FORBIDDEN', `bundle '${b.name}' belongs to tenant '${b.manifest.tenant}'`);
}

/** The client place as its connections reported it: the admin's all clients, a tenant's its own. Quantiles
 *  since start (the dashboard shows the last second); reports arrive only while a dashboard is open. */
function clientPlaceStats(r: ClientReports, tenant: string | null) {
  const c = tenant === null ? r.summary() : r.summary(tenant);
  const q = (x: number) => {
    const v = quantileMs(c.latency, x);
    return Number.isNaN(v) ? null : v;
  };
  return { clients: c.clients, messages: c.messages, errors: c.errors, queue: c.queue, p50Ms: q(0.5), p99Ms: q(0.99), ...(tenant === null ? { refused: r.refused } : {}) };
}

/**
 * `/v1/stats`'s rdma part: UCX's version and the transports its context offers (UCX_TLS applies) to
 * everyone; to the admin also the transports each connected UCX peer's endpoint uses (clients, the
 * remote DPU agent), region and revocation counts. A tenant does not see other tenants' peers.
 */
function rdmaStats(rdma: RdmaHost | null, p: Principal): Record<string, unknown> | null {
  if (!rdma) return null;
  const s = rdma.stats();
  return p.tenant === null ? { ...s } : { ucx: s.ucx, transports: s.transports };
}
