/**
 * The HTTP front door: routes requests to the control API (control.ts), to function and chain invocation
 * (invoke.ts) and to Prometheus metrics. It composes the executor, the tenant scheduler, run plans and the
 * server's one registry. Built around a plain `http.Server` so the composed `roam serve` can hand it
 * sockets (`gateway.server.emit('connection', socket)`) next to the binary protocol.
 */
import type { Socket } from 'node:net';
import { memoryRelief } from '../wire/memory-relief.ts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RoamError } from '../errors.ts';
import { Engine } from '../runtime/engine.ts';
import { DEFAULT_ENGINE_LIMITS, type EngineLimits } from '../verify/verify.ts';
import { StateStore } from '../state/store.ts';
import { FairScheduler } from '../tenancy/scheduler.ts';
import { TenantTable } from '../tenancy/tenants.ts';
import { Authenticator } from '../tenancy/auth.ts';
import { Registry } from '../server/registry.ts';
import type { WireServer } from '../server/wire-server.ts';
import { registerWireMetrics } from '../server/wire-metrics.ts';
import { ControlApi } from './control.ts';
import { Executor } from './executor.ts';
import type { InlineFunctionOptions } from './inline-functions.ts';
import { Invoker } from './invoke.ts';
import { log as engineLog, type Logger } from './log.ts';
import { GatewayMetrics, ROUTES, type Route } from './metrics.ts';
import { Plans } from './plans.ts';
import { sendError, sendJson } from './respond.ts';
import { mountDashboard, wireSource, type Dashboard } from '../dashboard/index.ts';
import { authenticate } from './auth.ts';
import { pipelineGate } from './pipeline-gate.ts';
import { decodeSegment } from './path.ts';
import { RemoteAllow } from '../chains/remote-allow.ts';

/** Bytes written to one HTTP connection past which its close asks for a memory relief (engine/wire/memory-relief.ts). */
const BIG_CONNECTION = 16 << 20;

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
  /** Hosts, IPs and CIDR ranges remote chain steps may reach (engine/chains/remote-allow.ts); none by default. */
  remoteAllow?: string[];
}

export interface Gateway {
  readonly server: Server;
  readonly registry: Registry;
  readonly executor: Executor;
  readonly scheduler: FairScheduler;
  readonly metrics: GatewayMetrics;
  /** The live dashboard at /ui (engine/dashboard); it shows `wire`'s places when given one. */
  readonly dashboard: Dashboard;
  /** How many workers hold function `fn`'s current version instantiated and ready (warmed at deploy). */
  warmed(fn: string): number;
  /** Listens (port 0 = any); resolves with the base URL. */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  const limits = { ...DEFAULT_ENGINE_LIMITS, ...opts.limits };
  const tenants = opts.tenants ?? new TenantTable();
  const log = opts.logger ?? engineLog;
  const maxHops = opts.maxHops ?? 64;
  // One pool of host workers: the places' (when this server runs handlers too) runs functions as well.
  const executor = new Executor({ limits, ...(opts.wire ? { host: opts.wire.host } : {}), ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.inline !== undefined ? { inline: opts.inline } : {}) });
  const scheduler = new FairScheduler(executor.threads * 2, tenants);
  const metrics = new GatewayMetrics(() => Object.fromEntries(Object.entries(scheduler.stats()).map(([t, s]) => [t, s.queued])));
  const state = opts.stateDir ? new StateStore(opts.stateDir) : null;
  const auth = opts.auth ?? new Authenticator(opts.token, tenants);
  const engine = new Engine({ limits, ...(opts.wire ? { regions: opts.wire.table.regions } : {}) });
  // Each capability's Prometheus series, /v1/stats part and control route come from the capability itself.
  for (const c of engine.capabilities.values()) c.metrics?.(metrics.registry);
  const registry = new Registry({ engine, tenants, state, threads: executor.threads, componentTimeLimitMs: opts.timeoutMs ?? 10_000, ...(opts.wire ? { wire: opts.wire } : {}), ...(opts.maxRegionBytes ? { maxRegionBytes: opts.maxRegionBytes } : {}), onRetired: (hash, ref) => executor.forget(hash, ref), socketAllow: opts.remoteAllow ?? [] });
  await registry.restore((what, err) => log('warn', 'skipped a stored item that does not load', { item: what, reason: err.message }));
  const ui = mountDashboard({ registry, scheduler, tenants, metrics: metrics.registry }, (req) => authenticate(req, auth));
  if (opts.wire) ui.dashboard.add(wireSource(opts.wire)); // places, steering and shifts on the dashboard
  if (opts.wire) registerWireMetrics(metrics.registry, opts.wire); // places, steering, handlers in /metrics
  let closing = false;
  let selfUrl = opts.selfUrl ?? null;
  const plans = new Plans(registry, executor, maxHops);
  const remoteAllow = new RemoteAllow(opts.remoteAllow);
  const invoker = new Invoker({ registry, plans, executor, scheduler, metrics, log, maxBody: opts.maxBodyBytes ?? 1 << 20, maxHops, timeoutMs: opts.timeoutMs ?? 10_000, selfUrl: () => selfUrl, closing: () => closing, remoteAllow });
  const control = new ControlApi({ registry, plans, auth, engine, executor, scheduler, log, maxBundle: opts.maxBundleBytes ?? 16 << 20, dpu: opts.wire?.dpu !== undefined, remoteAllow, rdma: opts.wire?.rdma ?? null, ...(opts.wire ? { clients: opts.wire.clientReports, placesMemory: () => opts.wire!.memory() } : {}) });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const parts = path.split('/');
    const route = routeOf(parts[1]);
    try {
      if (parts[1] === 'fn' || parts[1] === 'chain') {
        const name = decodeSegment(parts[2] ?? '', `${parts[1]} name`);
        if (!name) throw new RoamError('E_NOT_FOUND', `no ${parts[1]} name in ${path}`);
        const restStart = 1 + parts[1].length + 1 + (parts[2] ?? '').length;
        const rest = url.slice(restStart) || '/';
        return await invoker.invoke(req, res, parts[1], name, rest.startsWith('/') ? rest : '/' + rest);
      }
      if (parts[1] === 'v1') return await control.handle(req, res, parts);
      if (parts[1] === 'ui') return ui.handle(req, res, path); // the dashboard: page, assets, /ui/stream (engine/dashboard)
      if (path === '/metrics' && req.method === 'GET') {
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        return void res.end(text);
      }
      if (path === '/healthz') return sendJson(res, 200, { ok: true });
      throw new RoamError('E_NOT_FOUND', `no route ${req.method} ${path}`);
    } catch (e) {
      if (!res.headersSent) sendError(res, e, log);
      else res.destroy();
    } finally {
      metrics.countHttp(route, res.statusCode); // answered or refused: 404s, 401s and 413s count too
    }
  }

  plans.warm(registry.list()); // restored bundles (workers still starting may miss it: their first run carries them)
  // pipelineGate: a client that pipelines requests and never reads cannot make us buffer their responses (issue 19);
  // connectionsCheckingInterval: how often Node enforces headersTimeout (set by the shared port; 30 s by default).
  const server = createServer({ keepAliveTimeout: 65_000, connectionsCheckingInterval: 1_000 }, pipelineGate((req, res) => void handle(req, res)));
  // A connection that took big responses leaves them as garbage when it closes: collect and trim (rate-limited).
  server.on('connection', (socket: Socket) => socket.once('close', () => socket.bytesWritten >= BIG_CONNECTION && memoryRelief.request()));
  return {
    server,
    registry,
    executor,
    scheduler,
    metrics,
    dashboard: ui.dashboard,
    warmed: (fn: string) => (registry.bundleOf(fn) ? executor.warmedBy(plans.planFor('fn', fn).def.id) : 0),
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
      ui.dashboard.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await invoker.close();
      await executor.close();
      await Promise.all(registry.list().map((b) => b.component?.close())); // component workers
    },
  };
}

/** The metrics' route label: the first path segment when it is one of ours, else `other` (never the path itself). */
function routeOf(segment: string | undefined): Route {
  return segment !== undefined && (ROUTES as readonly string[]).includes(segment) && segment !== 'other' ? (segment as Route) : 'other';
}
