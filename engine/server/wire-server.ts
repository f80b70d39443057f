/**
 * The wire side of the server composed: the places' router (engine/places/router.ts) behind the wire front
 * door (wire-door.ts). `roam serve` hands it the sockets whose first byte is 0xB7 (shared-port.ts);
 * `listenWire` gives it a port of its own (tests, benchmarks, the demo).
 */
import { CodeCounts } from '../observe/metrics.ts';
import { log as engineLog } from '../observe/log.ts';
import { ClientReports } from './client-reports.ts';
import net from 'node:net';
import type { Bundle } from '../bundle/bundle.ts';
import type { ComponentDeployment } from '../components/message-deployment.ts';
import { DEFAULT_MAX_FRAME } from '../wire/frame.ts';
import { DEFAULT_FLOW, type FlowLimits } from '../wire/flow.ts';
import { DEFAULT_LEASE_MS } from '../places/leases.ts';
import { PlaceRouter, type PlacesMemory, type RouterOptions } from '../places/router.ts';
import type { BundleTable, Registered } from '../places/bundle-table.ts';
import type { HostPool } from '../places/host-pool.ts';
import type { Steering } from '../steering/policy.ts';
import type { Place, PlaceResult, ServerPlace } from '../places/types.ts';
import { WireDoor, type WireAuth, type WireDoorStats } from './wire-door.ts';
import type { RdmaHost } from '../rdma/host.ts';

export interface WireServerOptions extends RouterOptions {
  /** Largest frame payload accepted (bytes); larger frames get E_TOO_LARGE and are skipped. */
  maxFrame?: number;
  /** Token check for the AUTH frame; when it requires a token, a connection must authenticate first.
   *  Without it connections are open (in-process servers and tests). */
  auth?: WireAuth;
  /** Bundles (.wasm bytes) deployed at start. */
  bundles?: Uint8Array[];
  /** Host worker threads (shorthand for host.workers). */
  hostWorkers?: number;
  /** Lease on a seqlock a connection takes with a remote CAS, ms (engine/places/leases.ts; default 2000). */
  leaseMs?: number;
  /** Serve connections with native-host's roam_netio where it is built (default), or false: Node's
   *  sockets (engine/wire/native-net.ts). */
  nativeIo?: boolean;
  /** Output backpressure per connection (engine/wire/flow.ts). */
  flow?: Partial<FlowLimits>;
  /** Where a connection closed by the server's own limits is reported (default: stderr). */
  log?: (line: string) => void;
}

export type WireServerStats = WireDoorStats;

export interface WireServer {
  /** Serves one accepted socket (the lead's `roam serve` hands over sockets whose first byte is 0xB7,
   *  with the bytes it read to find out as `first`). */
  handleSocket(socket: net.Socket, first?: Buffer | null, closed?: () => void): void;
  /** Verifies and deploys a core handler bundle (in-process callers; the server's registry uses `install`). */
  deploy(bytes: Uint8Array): Registered;
  /** Deploys an admitted core bundle to every place; a redeploy keeps the wire id. */
  install(bundle: Bundle): Registered;
  /** A message-handler component: served in its own worker beside the places (auto/host only), sharing the regions. */
  deployComponent(bytes: Uint8Array): Promise<Registered>;
  /** The two halves of deployComponent, for a registry that commits its state between them: starts the
   *  component's worker (may fail: nothing changed yet), then routes to it (synchronous). */
  startComponent(bytes: Uint8Array, env?: Record<string, string>): Promise<ComponentDeployment>;
  installComponent(c: ComponentDeployment, bytes: Uint8Array): Registered;
  /** Removes a bundle from every place and frees its regions (unless kept: a new version without handlers
   *  still owns them); false when no such bundle is deployed. */
  remove(name: string, opts?: { keepRegions?: boolean }): boolean;
  readonly router: PlaceRouter;
  readonly table: BundleTable;
  readonly host: HostPool;
  readonly dpu: Place | undefined;
  readonly steering: Steering<ServerPlace>;
  readonly stats: WireServerStats;
  /** ERROR frames sent, by code (bounded: engine/observe/metrics.ts). */
  readonly errorCodes: CodeCounts;
  /** What connected clients' client places report (CLIENT_STATS), per tenant: the dashboard's client row. */
  readonly clientReports: ClientReports;
  /** What the places hold compiled (host workers, the inline lane, the DPU agent), for GET /v1/stats. */
  memory(): PlacesMemory;
  /** `roam serve --rdma`'s UCX side (transports in use: `/v1/stats`), or undefined. */
  readonly rdma: RdmaHost | undefined;
  /** Runs one message through steering and a place, without a socket (tests, in-process callers). A
   *  successful reply may be a view into the place's slot, valid only while `done` runs: copy it to keep it. */
  dispatch(bundle: number, handler: number, payload: Uint8Array, place: number, done: (r: PlaceResult) => void): void;
  close(): Promise<void>;
}

/** A server for the binary protocol: owns the bundles' regions, runs handlers at its places; sockets are handed in. */
export function createWireServer(opts: WireServerOptions = {}): WireServer {
  const stats: WireServerStats = { connections: 0, nativeConnections: 0, calls: 0, errors: 0, corrupt: 0, truncated: 0, leasesBroken: 0, undoLogged: 0, undoRestored: 0, inline: 0, refused: 0, byPlace: { host: 0, dpu: 0 }, open: 0, held: 0, overflows: 0 };
  const router = new PlaceRouter(opts.hostWorkers === undefined ? opts : { ...opts, host: { ...opts.host, workers: opts.hostWorkers } }, stats);
  const errorCodes = new CodeCounts();
  const clientReports = new ClientReports();
  const door = new WireDoor({
    clientReports,
    router,
    stats,
    errorCodes,
    maxFrame: opts.maxFrame ?? DEFAULT_MAX_FRAME,
    auth: opts.auth,
    rdma: opts.rdma,
    flow: { ...DEFAULT_FLOW, ...opts.flow },
    leaseMs: opts.leaseMs ?? DEFAULT_LEASE_MS,
    nativeIo: opts.nativeIo !== false,
    log: opts.log ?? ((line: string) => engineLog('warn', line)),
  });
  const swapped = (r: Registered) => {
    door.changed(r, false);
    return r;
  };
  const ws: WireServer = {
    handleSocket: (socket, first, closed) => door.handleSocket(socket, first, closed),
    router,
    table: router.table,
    host: router.host,
    dpu: router.dpu,
    steering: router.steering,
    stats,
    errorCodes,
    clientReports,
    rdma: opts.rdma,
    dispatch: (bundle, handler, payload, place, done) => router.dispatch(bundle, handler, payload, place, done),
    // Every swap and removal is told to the connections that resolved the bundle (client places refetch).
    install: (bundle) => swapped(router.install(bundle)),
    deploy: (bytes) => swapped(router.deploy(bytes)),
    startComponent: (bytes, env) => router.startComponent(bytes, env),
    memory: () => router.memory(),
    installComponent: (c, bytes) => swapped(router.installComponent(c, bytes)),
    deployComponent: async (bytes) => swapped(router.installComponent(await router.startComponent(bytes), bytes)),
    remove(name, o = {}) {
      const r = router.remove(name, o.keepRegions);
      if (r) door.changed(r, true);
      return r !== undefined;
    },
    async close() {
      door.close();
      await router.close();
    },
  };
  for (const b of opts.bundles ?? []) ws.deploy(b);
  return ws;
}

/** Convenience for tests and `roam serve`: a TCP listener speaking only the binary protocol. */
export async function listenWire(opts: WireServerOptions & { port?: number; hostname?: string } = {}): Promise<WireServer & { port: number; server: net.Server }> {
  const ws = createWireServer(opts);
  // Paused at accept: the native path takes the fd before Node reads anything.
  // Half-open: a client that sends its requests and then its FIN still gets every reply (wire/flow.ts).
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (s) => ws.handleSocket(s));
  await new Promise<void>((res, rej) => server.once('error', rej).listen(opts.port ?? 0, opts.hostname ?? '127.0.0.1', res));
  server.on('error', (e) => engineLog('error', 'wire listener error', { message: e.message })); // accept failures (EMFILE) are not fatal
  const port = (server.address() as net.AddressInfo).port;
  const closeWire = ws.close;
  return Object.assign(ws, {
    port,
    server,
    async close() {
      server.close();
      await closeWire();
    },
  });
}
